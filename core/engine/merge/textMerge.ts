import { diff3Merge } from 'node-diff3';

/**
 * Three-way merge of text from the common ancestor (diff3, as git and Syncthing-less tools do).
 * Lines keep their endings so CRLF files stay CRLF. Edits in different places merge; edits that
 * touch the same or adjacent lines are a conflict and nothing is merged (both versions are kept).
 */
export type TextMergeResult = { clean: true; text: string } | { clean: false; conflicts: number };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text for merging purposes: valid UTF-8 without NUL bytes. */
export function asText(data: Buffer): string | null {
  if (data.includes(0)) return null;
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}

function lines(s: string): string[] {
  return s.length === 0 ? [] : s.split(/(?<=\n)/);
}

export function mergeText(base: string, a: string, b: string): TextMergeResult {
  if (a === b) return { clean: true, text: a };
  if (a === base) return { clean: true, text: b };
  if (b === base) return { clean: true, text: a };
  const blocks = diff3Merge(lines(a), lines(base), lines(b), { excludeFalseConflicts: true }) as ({ ok: string[] } | { conflict: { a: string[]; b: string[] } })[];
  let conflicts = 0;
  const out: string[] = [];
  for (const block of blocks) {
    if ('ok' in block) out.push(...block.ok);
    else conflicts++;
  }
  return conflicts > 0 ? { clean: false, conflicts } : { clean: true, text: out.join('') };
}
