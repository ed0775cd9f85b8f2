import { hlcCompare, hlcParse } from '../common/hlc';
import { contains } from '../common/causalContext';
import type { StateDb } from '../vault/stateDb';
import type { VersionRecord } from './format';

/**
 * Each item is a multi-value register: its heads are the versions no other version dominates.
 * One head → settled. Several → concurrent edits; every device picks the same winner for the
 * working copy, and the others stay in the vault as a visible conflict until a version that
 * dominates them all is written (a resolution, or an edit made after merging them).
 */

/** Deterministic across devices: a live version beats a deletion (an edit wins over a concurrent delete), then the later HLC, then the larger device id. */
export function pickWinner(heads: readonly VersionRecord[]): VersionRecord {
  let best = heads[0]!;
  for (const h of heads.slice(1)) if (beats(h, best)) best = h;
  return best;
}

function beats(a: VersionRecord, b: VersionRecord): boolean {
  if (a.deleted !== b.deleted) return !a.deleted;
  const c = hlcCompare(hlcParse(a.hlc), hlcParse(b.hlc));
  if (c !== 0) return c > 0;
  return a.device > b.device;
}

/** Live heads with different content: edits that no single version contains. */
export function conflictingHeads(heads: readonly VersionRecord[]): VersionRecord[] {
  const live = heads.filter((h) => !h.deleted);
  const contents = new Set(live.map((h) => h.contentId));
  return contents.size > 1 ? live : [];
}

/**
 * Adds a version to the local state and updates its item's heads. Idempotent: a version seen
 * before (redelivery, own entry read back after a crash) changes nothing.
 */
export function ingestVersion(db: StateDb, v: VersionRecord): void {
  if (db.hasVersion(v.id)) return;
  const heads = db.headsOf(v.path);
  const dominated = heads.some((h) => descendsFrom(h, v));
  db.insertVersion(v, !dominated);
  if (dominated) return;
  for (const h of heads) if (descendsFrom(v, h)) db.setHead(h.id, false);
}

/** True when `a` has `b` in its causal history (and is not b itself). */
export function descendsFrom(a: VersionRecord, b: VersionRecord): boolean {
  return a.id !== b.id && contains(a, b.device, b.dot);
}
