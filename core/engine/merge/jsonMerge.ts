import type { VersionRecord } from '../format';
import { mergeText } from './textMerge';

/**
 * Merge of concurrent versions of a JSON file. Placeholder until the JSON CRDT lands: a line-based
 * diff3 of the texts, which merges edits of different keys on different lines and otherwise
 * leaves the conflict for the user. Returns null when the sides cannot be merged.
 */
export function mergeJsonTexts(base: string, texts: string[], _heads: VersionRecord[]): { text: string; review: NonNullable<VersionRecord['review']> } | null {
  let text = texts[0]!;
  for (const t of texts.slice(1)) {
    const r = mergeText(base, text, t);
    if (!r.clean) return null;
    text = r.text;
  }
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  return { text, review: [] };
}
