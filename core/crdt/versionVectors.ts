/**
 * Version-vector helpers the CRDTs need on top of core/common/versionVector.ts (which stays the
 * single definition of the type and of happened-before).
 */
import type { VersionVector } from '../common/versionVector';

/**
 * Pointwise minimum: what every one of the vectors has seen. A device missing from any vector
 * counts as 0 there, so it drops out. No vectors at all means nothing is known to be shared: {}.
 */
export function vvMin(vvs: readonly VersionVector[]): Record<string, number> {
  const [first, ...rest] = vvs;
  if (!first) return {};
  const out: Record<string, number> = {};
  for (const [device, n] of Object.entries(first)) {
    let min = n;
    for (const vv of rest) min = Math.min(min, vv[device] ?? 0);
    if (min > 0) out[device] = min;
  }
  return out;
}

/** Equal as histories: entries of 0 and missing entries are the same thing. */
export function vvEqual(a: VersionVector, b: VersionVector): boolean {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if ((a[k] ?? 0) !== (b[k] ?? 0)) return false;
  return true;
}

/** True when the vector covers event `counter` of `device` (every device numbers its events 1, 2, …). */
export function vvCovers(vv: VersionVector, device: string, counter: number): boolean {
  return counter <= (vv[device] ?? 0);
}

/** Every key of every vector: the devices a set of acknowledgements talks about. */
export function vvDevices(vvs: Iterable<VersionVector>): Set<string> {
  const out = new Set<string>();
  for (const vv of vvs) for (const [k, n] of Object.entries(vv)) if (n > 0) out.add(k);
  return out;
}
