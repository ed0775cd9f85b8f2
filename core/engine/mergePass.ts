import { chunkBuffer } from '../chunking/fastcdc';
import { hlcCompare, hlcParse } from '../common/hlc';
import { hmacSha256 } from '../crypto/keys';
import { commonAncestor } from './ancestor';
import type { ContentLoader } from './contentLoader';
import type { VersionRecord } from './format';
import { conflictingHeads, pickWinner } from './heads';
import { contentIdOf } from './localChanges';
import { mergeJsonTexts } from './merge/jsonMerge';
import { asText, mergeText } from './merge/textMerge';
import type { PackWriter } from './packWriter';
import type { DeviceSession } from './session';
import type { VersionFactory } from './versionFactory';

/** Files above this size are not merged automatically (a conflict keeps both versions). */
export const MAX_MERGE_BYTES = 4 * 1024 * 1024;

export type MergeKind = 'text' | 'json' | 'binary';

export interface MergeOutcome {
  path: string;
  kind: MergeKind;
  /** True when a merged version was produced (it dominates every head, ending the conflict). */
  merged: boolean;
  /** Why no merge happened, when merged is false. */
  reason?: string;
}

export function mergeKindOf(path: string, contents: Buffer[]): MergeKind {
  if (contents.some((c) => asText(c) === null)) return 'binary';
  return /\.json$/i.test(path) ? 'json' : 'text';
}

function byClock(a: VersionRecord, b: VersionRecord): number {
  return hlcCompare(hlcParse(a.hlc), hlcParse(b.hlc)) || (a.device < b.device ? -1 : a.device > b.device ? 1 : 0);
}

/**
 * For every item whose live heads differ, tries a merge from their common ancestor: JSON per key
 * (JSON CRDT), other text by diff3. A merge is deterministic (heads in HLC order), so devices that
 * merge the same conflict concurrently produce the same bytes and do not conflict with each other.
 * With `writer` null (dry run), nothing is uploaded but the outcome is the same.
 */
export async function mergeConflicts(s: DeviceSession, loader: ContentLoader, factory: VersionFactory, writer: PackWriter | null, now: number): Promise<{ versions: VersionRecord[]; outcomes: MergeOutcome[] }> {
  const versions: VersionRecord[] = [];
  const outcomes: MergeOutcome[] = [];
  for (const [path, heads] of s.db.allHeads()) {
    const live = conflictingHeads(heads).sort(byClock);
    if (live.length < 2) continue;
    if (live.some((h) => h.size > MAX_MERGE_BYTES)) {
      outcomes.push({ path, kind: 'binary', merged: false, reason: `larger than ${MAX_MERGE_BYTES} bytes` });
      continue;
    }
    const contents = await Promise.all(live.map((h) => loader.load(h)));
    const kind = mergeKindOf(path, contents);
    if (kind === 'binary') {
      outcomes.push({ path, kind, merged: false, reason: 'binary content' });
      continue;
    }
    const base = commonAncestor(s.db.historyOf(path), live);
    const baseText = base && !base.deleted && base.size <= MAX_MERGE_BYTES ? (asText(await loader.load(base)) ?? '') : '';
    const texts = contents.map((c) => asText(c)!);
    let text: string | null;
    let review: VersionRecord['review'];
    if (kind === 'json') {
      const r = mergeJsonTexts(baseText, texts, live);
      text = r?.text ?? null;
      review = r?.review.length ? r.review : undefined;
    } else {
      text = texts[0]!;
      for (const t of texts.slice(1)) {
        const r = mergeText(baseText, text, t);
        if (!r.clean) {
          text = null;
          break;
        }
        text = r.text;
      }
    }
    if (text === null) {
      outcomes.push({ path, kind, merged: false, reason: kind === 'json' ? 'not valid JSON on every side' : 'overlapping edits' });
      continue;
    }
    const bytes = Buffer.from(text, 'utf8');
    const ids: string[] = [];
    for (const chunk of chunkBuffer(bytes, s.manifest.chunker, s.keys.gear)) {
      const id = hmacSha256(s.keys.subkeys.chunkId, chunk).toString('hex');
      ids.push(id);
      if (writer) await writer.add(id, chunk);
    }
    const winner = pickWinner(live);
    versions.push(
      factory.mint(path, heads, {
        deleted: false,
        size: bytes.length,
        mode: winner.mode,
        mtimeMs: now,
        contentId: contentIdOf(s.keys, ids),
        chunks: ids,
        mergedFrom: live.map((h) => h.id),
        ...(review ? { review } : {}),
      }),
    );
    outcomes.push({ path, kind, merged: true });
  }
  return { versions, outcomes };
}
