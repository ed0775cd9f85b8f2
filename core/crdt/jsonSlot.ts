/**
 * The state of one JSON document key (and of the document root): a causal CRDT made of four dot
 * stores that are joined independently (dotStore.ts), which is what keeps merge a lattice join
 * even when devices give a key different types.
 *
 * - `reg`: the key's register. Each write is a dot with an HLC and a kind: a scalar or non-string
 *   array value, "is an object", "is a string set", or "deleted" (a tombstone). A write replaces
 *   every write its device had seen; writes that survive side by side were concurrent, and the
 *   visible one is the greatest (HLC, device, counter). So causally later writes always win,
 *   whatever the clocks say, and HLC order only settles concurrent ones.
 * - `obj`: child keys, shown when the visible write is "object".
 * - `set`: string elements, each with the dots of its adds (observed-remove, add-wins), shown when
 *   the visible write is "string set".
 * - `ord`: the element order of each device's latest write of the set (a register like `reg`).
 *
 * A write of a new kind, or a delete, drops every dot it has seen in all four stores, so content
 * left from an earlier type never comes back. Only edits made concurrently inside a key that was
 * deleted or retyped stay in its stores, hidden, until causal-stability GC removes them.
 */
import { canonicalJson } from '../common/canonicalJson';
import { hlcCompare, type Hlc } from '../common/hlc';
import type { VersionVector } from '../common/versionVector';
import { type Dot, type DotContext } from './dotContext';
import { NO_DOTS, joinDots, joinMaps } from './dotStore';
import { jsonEqual, makeObject, thawJson, type JsonValue } from './jsonValue';

export const VALUE = 0;
export const OBJECT = 1;
export const SET = 2;
export const DELETED = 3;
export type Kind = typeof VALUE | typeof OBJECT | typeof SET | typeof DELETED;

export interface Write extends Dot {
  readonly hlc: Hlc;
  readonly kind: Kind;
  /** Only for VALUE: a scalar or an array that is not a string set, frozen. */
  readonly value?: JsonValue;
}

export interface OrderWrite extends Dot {
  readonly hlc: Hlc;
  readonly list: readonly string[];
}

export interface Slot {
  readonly reg: readonly Write[];
  readonly obj?: ReadonlyMap<string, Slot>;
  readonly set?: ReadonlyMap<string, readonly Dot[]>;
  readonly ord?: readonly OrderWrite[];
}

/** Order among concurrent writes: HLC, device, counter — total, since dots are unique. */
export function writeCompare(a: Write | OrderWrite, b: Write | OrderWrite): number {
  return hlcCompare(a.hlc, b.hlc) || (a.device < b.device ? -1 : a.device > b.device ? 1 : a.counter - b.counter);
}

export function winner<T extends Write | OrderWrite>(ws: readonly T[]): T | undefined {
  let top: T | undefined;
  for (const w of ws) if (!top || writeCompare(w, top) > 0) top = w;
  return top;
}

export function isVisible(slot: Slot | undefined): boolean {
  const top = slot && winner(slot.reg);
  return top !== undefined && top.kind !== DELETED;
}

export function makeSlot(
  reg: readonly Write[],
  obj: ReadonlyMap<string, Slot> | undefined,
  set: ReadonlyMap<string, readonly Dot[]> | undefined,
  ord: readonly OrderWrite[] | undefined,
): Slot | undefined {
  const slot: { -readonly [K in keyof Slot]: Slot[K] } = { reg };
  if (obj && obj.size > 0) slot.obj = obj;
  if (set && set.size > 0) slot.set = set;
  if (ord && ord.length > 0) slot.ord = ord;
  return reg.length > 0 || slot.obj || slot.set || slot.ord ? slot : undefined;
}

// Two payloads under one dot only come from corrupt or forged states; choose symmetrically.
function pickWrite(x: Write, y: Write): Write {
  if (x.kind === y.kind && x.hlc.wall === y.hlc.wall && x.hlc.counter === y.hlc.counter && (x.value === y.value || jsonEqual(x.value ?? null, y.value ?? null))) return x;
  const c = writeCompare(x, y) || x.kind - y.kind || (canonicalJson(x.value ?? null) < canonicalJson(y.value ?? null) ? -1 : 1);
  return c >= 0 ? x : y;
}
function pickOrder(x: OrderWrite, y: OrderWrite): OrderWrite {
  return (writeCompare(x, y) || (JSON.stringify(x.list) < JSON.stringify(y.list) ? -1 : 1)) >= 0 ? x : y;
}

export function joinSlot(a: Slot | undefined, ca: DotContext, b: Slot | undefined, cb: DotContext): Slot | undefined {
  if (a === b) return a;
  const reg = joinDots(a?.reg ?? NO_DOTS, ca, b?.reg ?? NO_DOTS, cb, pickWrite);
  // Most slots are one register write: no closures for stores neither side has.
  const obj = a?.obj || b?.obj ? joinMaps(a?.obj, b?.obj, (x, y) => joinSlot(x, ca, y, cb)) : undefined;
  const set =
    a?.set || b?.set
      ? joinMaps(a?.set, b?.set, (x, y) => {
          const dots = joinDots(x ?? NO_DOTS, ca, y ?? NO_DOTS, cb);
          return dots.length > 0 ? dots : undefined;
        })
      : undefined;
  const ord = a?.ord || b?.ord ? joinDots(a?.ord ?? NO_DOTS, ca, b?.ord ?? NO_DOTS, cb, pickOrder) : NO_DOTS;
  if (a && reg === a.reg && obj === a.obj && set === a.set && ord === (a.ord ?? NO_DOTS)) return a;
  if (b && reg === b.reg && obj === b.obj && set === b.set && ord === (b.ord ?? NO_DOTS)) return b;
  return makeSlot(reg, obj, set, ord);
}

/** Every dot in a slot, for a write that replaces it. */
export function collectDots(slot: Slot | undefined, out: Dot[]): void {
  if (!slot) return;
  out.push(...slot.reg);
  for (const child of slot.obj?.values() ?? []) collectDots(child, out);
  for (const dots of slot.set?.values() ?? []) out.push(...dots);
  out.push(...(slot.ord ?? NO_DOTS));
}

/**
 * Element order: the elements of the newest set write (by HLC) in its order, then those of older
 * concurrent writes in theirs, then any element no surviving write lists, in code-unit order.
 */
export function setOrder(slot: Slot): string[] {
  const present = slot.set ?? new Map<string, readonly Dot[]>();
  const placed = new Set<string>();
  const out: string[] = [];
  const ords = [...(slot.ord ?? NO_DOTS)].sort((x, y) => writeCompare(y, x));
  for (const o of ords) {
    for (const e of o.list) {
      if (present.has(e) && !placed.has(e)) {
        placed.add(e);
        out.push(e);
      }
    }
  }
  if (placed.size < present.size) out.push(...[...present.keys()].filter((e) => !placed.has(e)).sort());
  return out;
}

/**
 * Keys of a visible object in the order of their visible writes: a document written in one update
 * comes back in the order it was written. (Files keep their own order: toJsonText.)
 */
export function visibleChildren(slot: Slot): [string, Slot, Write][] {
  const out: [string, Slot, Write][] = [];
  for (const [k, child] of slot.obj ?? []) {
    const top = winner(child.reg);
    if (top && top.kind !== DELETED) out.push([k, child, top]);
  }
  // Maps keep insertion order, which usually is write order already: check before sorting.
  for (let i = 1; i < out.length; i++) if (writeCompare(out[i - 1]![2], out[i]![2]) > 0) return out.sort((x, y) => writeCompare(x[2], y[2]));
  return out;
}

/** The plain value shown for a slot if `top` is its visible write; fresh and mutable. */
export function renderAs(slot: Slot, top: Write): unknown {
  switch (top.kind) {
    case VALUE:
      return thawJson(top.value ?? null);
    case OBJECT:
      return makeObject(visibleChildren(slot).map(([k, child, w]) => [k, renderAs(child, w) as JsonValue]));
    case SET:
      return setOrder(slot);
    default:
      return undefined;
  }
}

export function render(slot: Slot | undefined): unknown {
  const top = slot && winner(slot.reg);
  return top ? renderAs(slot, top) : undefined;
}

/**
 * Causal-stability GC (causalStability.ts). With every write we have not seen causally after
 * every dot at or below `stable`:
 * - a key whose surviving writes are all stable deletes will be overwritten by any later write
 *   anyway, so the tombstones go (and the key, if nothing else is left);
 * - content hidden under a write of another kind can only be shown again by a concurrent write of
 *   its kind, and none can come for stable dots, so hidden stable dots go.
 * Dropped dots stay in the context, so a stale copy of them arriving later is ignored.
 */
export function gcSlot(slot: Slot, stable: VersionVector, hidden: boolean): Slot | undefined {
  const isStable = (d: Dot) => d.counter <= (stable[d.device] ?? 0);
  let reg = slot.reg;
  if (hidden) {
    const live = reg.filter((w) => !isStable(w));
    if (live.length !== reg.length) reg = live;
  } else if (reg.length > 0 && reg.every((w) => w.kind === DELETED && isStable(w))) reg = NO_DOTS;
  const hideObj = hidden || !reg.some((w) => w.kind === OBJECT);
  const hideSet = hidden || !reg.some((w) => w.kind === SET);
  let obj: Map<string, Slot> | undefined;
  for (const [k, child] of slot.obj ?? []) {
    const g = gcSlot(child, stable, hideObj);
    if (g !== child) obj ??= new Map(slot.obj);
    if (g) obj?.set(k, g);
    else obj?.delete(k);
  }
  let set = slot.set;
  let ord = slot.ord;
  if (hideSet) {
    const kept = new Map<string, readonly Dot[]>();
    for (const [e, dots] of slot.set ?? []) {
      const live = dots.filter((d) => !isStable(d));
      if (live.length > 0) kept.set(e, live.length === dots.length ? dots : live);
    }
    if (kept.size !== (slot.set?.size ?? 0) || [...kept].some(([e, d]) => slot.set?.get(e) !== d)) set = kept;
    const liveOrd = ord?.filter((o) => !isStable(o));
    if (liveOrd && liveOrd.length !== ord?.length) ord = liveOrd;
  }
  if (reg === slot.reg && !obj && set === slot.set && ord === slot.ord) return slot;
  return makeSlot(reg, obj ?? slot.obj, set, ord);
}
