/**
 * Version vector: device id → number of that device's edits of one item that this version has
 * seen. Decides happened-before vs concurrent without trusting any clock.
 */
export type VersionVector = Readonly<Record<string, number>>;

export type Causality = 'equal' | 'before' | 'after' | 'concurrent';

export function vvCompare(a: VersionVector, b: VersionVector): Causality {
  let aBigger = false;
  let bBigger = false;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[k] ?? 0;
    const y = b[k] ?? 0;
    if (x > y) aBigger = true;
    else if (y > x) bBigger = true;
  }
  if (aBigger && bBigger) return 'concurrent';
  if (aBigger) return 'after';
  if (bBigger) return 'before';
  return 'equal';
}

export function vvMerge(...vvs: VersionVector[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const vv of vvs) for (const [k, v] of Object.entries(vv)) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}

/** True when a has seen everything b has (a ≥ b). */
export function vvDominates(a: VersionVector, b: VersionVector): boolean {
  const c = vvCompare(a, b);
  return c === 'after' || c === 'equal';
}
