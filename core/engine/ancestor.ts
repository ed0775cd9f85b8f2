import { hlcCompare, hlcParse } from '../common/hlc';
import { vvDominates } from '../common/versionVector';
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
    if (!of.every((h) => vvDominates(h.vv, v.vv))) continue;
    const weight = Object.values(v.vv).reduce((a, b) => a + b, 0);
    if (weight > bestWeight || (weight === bestWeight && best && hlcCompare(hlcParse(v.hlc), hlcParse(best.hlc)) > 0)) {
      best = v;
      bestWeight = weight;
    }
  }
  return best;
}
