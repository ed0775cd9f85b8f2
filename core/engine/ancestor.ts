import { hlcCompare, hlcParse } from '../common/hlc';
import { contains, weight } from '../common/causalContext';
import type { VersionRecord } from './format';

/**
 * The latest common ancestor of some versions of one item: among the versions every one of them
 * descends from, the one that has seen the most edits (ties: the later HLC). Every version stays
 * in the history (content-addressed), so the ancestor's bytes are always available for a 3-way
 * merge. Null when the versions share no history (created independently on two devices).
 */
export function commonAncestor(history: readonly VersionRecord[], of: readonly VersionRecord[]): VersionRecord | null {
  let best: VersionRecord | null = null;
  let bestWeight = -1;
  for (const v of history) {
    if (!of.every((h) => h.id === v.id || contains(h, v.device, v.dot))) continue;
    const w = weight(v);
    if (w > bestWeight || (w === bestWeight && best && hlcCompare(hlcParse(v.hlc), hlcParse(best.hlc)) > 0)) {
      best = v;
      bestWeight = w;
    }
  }
  return best;
}
