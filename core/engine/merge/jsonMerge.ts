import { hlcParse, HLC_ZERO } from '../../common/hlc';
import { JsonDoc } from '../../crdt/jsonDoc';
import { toJsonText } from '../../crdt/jsonText';
import type { VersionRecord } from '../format';

/**
 * Merge of concurrent versions of a JSON file with the JSON CRDT (core/crdt): starting from the
 * common ancestor, each head's file is applied as that head's edit (a diff per key, OR-set
 * semantics for arrays of strings such as permissions.allow), then the documents are merged.
 * Different keys: both edits win. A removed entry stays removed. Same key set differently on
 * both sides: the deterministic winner (later HLC) is applied and the pair is returned in
 * `review`, so `ccsync conflicts` shows it. Returns null when a side is not valid JSON.
 */
export function mergeJsonTexts(base: string, texts: string[], heads: VersionRecord[]): { text: string; review: NonNullable<VersionRecord['review']> } | null {
  const parse = (t: string): unknown => (t.trim() === '' ? undefined : JSON.parse(t));
  let baseValue: unknown;
  let values: unknown[];
  try {
    baseValue = parse(base);
    values = texts.map(parse);
  } catch {
    return null;
  }
  const ancestor = JsonDoc.fromValue(baseValue, 'ancestor', HLC_ZERO);
  let merged = ancestor;
  heads.forEach((h, i) => {
    // Each head edits as its own actor (its version id): two heads of one device must not share dots.
    merged = merged.merge(ancestor.update(values[i], h.id, () => hlcParse(h.hlc)).doc);
  });
  const deviceOf = new Map(heads.map((h) => [h.id, h.device]));
  const review = merged.conflicts().map((c) => ({
    key: c.path.join('.'),
    values: [c.winner.value, ...c.others.map((o) => o.value)].map((v) => (v === undefined ? null : v)),
    devices: [c.winner.device, ...c.others.map((o) => o.device)].map((d) => deviceOf.get(d) ?? d),
  }));
  const text = toJsonText(merged, texts[texts.length - 1]) ?? '{}\n';
  return { text, review };
}
