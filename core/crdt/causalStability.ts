/**
 * Causal stability: which events every device has integrated, so metadata kept only to order
 * them against concurrent events (JSON-document tombstones) can go.
 *
 * Each device acknowledges the version vector of its replica (`versionVector()` of a CRDT: the
 * contiguous prefix of its causal context — "I have integrated every event up to here"). The
 * stable frontier is the pointwise minimum of all acknowledgements.
 *
 * Stable alone is not enough to drop a tombstone: a write made concurrently with the delete, by a
 * device that has since acknowledged the delete, may still be on its way to us — and with the
 * tombstone gone it would win without being compared to the delete's HLC. Such a write was made
 * before its device acknowledged, so it is at or below that device's own entry of its ack. Hence
 * `collectableFrontier`: the stable frontier, but only once the local replica has integrated
 * everything any device has acknowledged; otherwise nothing. Every write we have not seen then
 * causally follows everything below the frontier, and overwrites such a tombstone anyway.
 */
import type { VersionVector } from '../common/versionVector';
import { vvDevices, vvMin } from './versionVectors';
import { vvDominates } from '../common/versionVector';

/** Pointwise minimum of the acknowledged vectors: every device has integrated everything at or below it. */
export function stableFrontier(acks: Iterable<VersionVector>): Record<string, number> {
  return vvMin([...acks]);
}

/**
 * The frontier a replica may pass to `gc`. `acks` maps every device of the vault to the vector it
 * last acknowledged — a device that has acknowledged nothing yet maps to {}, since it may still
 * write concurrently with anything; `local` is this replica's own `versionVector()`. Returns {}
 * (collect nothing) while `local` lacks something acknowledged, or while a device seen writing is
 * missing from `acks` (a guard against an incomplete device list).
 */
export function collectableFrontier(acks: ReadonlyMap<string, VersionVector>, local: VersionVector): Record<string, number> {
  for (const device of vvDevices([local, ...acks.values()])) if (!acks.has(device)) return {};
  for (const ack of acks.values()) if (!vvDominates(local, ack)) return {};
  return stableFrontier(acks.values());
}

/** Whether event `counter` of `device` is at or below the frontier. */
export function isStable(frontier: VersionVector, device: string, counter: number): boolean {
  return counter <= (frontier[device] ?? 0);
}
