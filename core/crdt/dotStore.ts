/**
 * The join of causal CRDTs: a dot present on both sides stays; a dot present on one side stays
 * only if the other side has not seen it (if it has, the other side removed or overwrote it).
 * With the contexts joined by union, this is a lattice join — commutative, associative and
 * idempotent — whatever the dots carry. Results reuse the inputs where nothing changed, so a merge
 * of mostly equal states allocates little.
 */
import { sameDot, dotCompare, type Dot, type DotContext } from './dotContext';

export const NO_DOTS: readonly never[] = Object.freeze([]);

/** Dots of `xs` the context has not seen. */
export function unseenDots<T extends Dot>(xs: readonly T[], ctx: DotContext): readonly T[] {
  let out: T[] | undefined;
  xs.forEach((x, i) => {
    if (ctx.has(x)) out ??= xs.slice(0, i);
    else out?.push(x);
  });
  return out ?? xs;
}

/**
 * Joins two dot lists (each sorted by dot, each dot once). `pick` chooses between two different
 * payloads under one dot — only a corrupt or forged state has those — so the choice is symmetric.
 */
export function joinDots<T extends Dot>(a: readonly T[], ca: DotContext, b: readonly T[], cb: DotContext, pick?: (x: T, y: T) => T): readonly T[] {
  if (a === b) return a;
  if (a.length === 0) return unseenDots(b, ca);
  if (b.length === 0) return unseenDots(a, cb);
  if (a.length === 1 && b.length === 1) {
    // The usual case: one dot a side, most often the same one.
    const x = a[0]!;
    const y = b[0]!;
    if (sameDot(x, y)) return x === y || !pick || pick(x, y) === x ? a : b;
    const keepX = !cb.has(x);
    const keepY = !ca.has(y);
    if (keepX && keepY) return dotCompare(x, y) < 0 ? [x, y] : [y, x];
    return keepX ? a : keepY ? b : NO_DOTS;
  }
  const out: T[] = [];
  for (const x of a) {
    const y = b.find((z) => sameDot(z, x));
    if (y) out.push(pick && y !== x ? pick(x, y) : x);
    else if (!cb.has(x)) out.push(x);
  }
  for (const y of b) if (!a.some((x) => sameDot(x, y)) && !ca.has(y)) out.push(y);
  if (out.length > 1) out.sort(dotCompare);
  if (sameItems(out, a)) return a;
  if (sameItems(out, b)) return b;
  return out;
}

function sameItems<T>(x: readonly T[], y: readonly T[]): boolean {
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Joins two maps key by key with `join` (which sees `undefined` for a missing side and returns
 * `undefined` for "nothing left"); an empty result is `undefined`.
 */
export function joinMaps<K, V>(
  a: ReadonlyMap<K, V> | undefined,
  b: ReadonlyMap<K, V> | undefined,
  join: (x: V | undefined, y: V | undefined) => V | undefined,
): ReadonlyMap<K, V> | undefined {
  if (a === b) return a;
  // Copied only on the first difference: merging a state with a copy of itself (the common case
  // for a big document and a small change) allocates nothing per key.
  let out: Map<K, V> | undefined;
  if (a) {
    for (const [k, x] of a) {
      const r = join(x, b?.get(k));
      if (r === x) continue;
      out ??= new Map(a);
      if (r === undefined) out.delete(k);
      else out.set(k, r);
    }
  }
  if (b) {
    let allOfB = !a;
    for (const [k, y] of b) {
      if (a?.has(k)) continue;
      const r = join(undefined, y);
      if (r !== y) allOfB = false;
      if (r === undefined) continue;
      out ??= new Map(a);
      out.set(k, r);
    }
    if (allOfB) return b.size > 0 ? b : undefined;
  }
  if (!out) return a && a.size > 0 ? a : undefined;
  return out.size > 0 ? out : undefined;
}
