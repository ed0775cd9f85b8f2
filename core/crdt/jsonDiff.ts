/**
 * Turning "the file now looks like this" into CRDT writes: a diff of the new plain value against
 * what the document shows, recording the smallest set of writes (fresh dots, one fresh HLC) and
 * the dots they replace. Equal after parse means no write at all, so reformatting a file or
 * reordering its keys is not an edit.
 */
import { CcsError } from '../common/errors';
import type { Hlc } from '../common/hlc';
import { MAX_HLC_COUNTER, MAX_WALL } from './codec';
import type { Dot, DotContext } from './dotContext';
import { NO_DOTS } from './dotStore';
import { freezeJson, isJsonObject, isStringSet, jsonEqual, makeObject, type JsonObject, type JsonValue } from './jsonValue';
import { DELETED, OBJECT, SET, VALUE, collectDots, isVisible, makeSlot, setOrder, winner, type Kind, type OrderWrite, type Slot, type Write } from './jsonSlot';

/** One local edit session: hands out dots and HLCs, and remembers what was added and replaced. */
export class Writer {
  readonly added: Dot[] = [];
  readonly removed: Dot[] = [];
  private next: number;

  constructor(
    readonly device: string,
    context: DotContext,
    private readonly clock: () => Hlc,
  ) {
    if (device === '') throw new CcsError('USAGE', 'device id must not be empty');
    this.next = context.max(device) + 1;
  }

  dot(): Dot {
    const d = { device: this.device, counter: this.next++ };
    this.added.push(d);
    return d;
  }

  private stamp: Hlc | undefined;

  /**
   * One HLC per edit: writes of one edit are never concurrent with each other, so they need not
   * differ (their dots order them), and equal stamps encode in almost nothing.
   */
  private hlc(): Hlc {
    if (this.stamp) return this.stamp;
    const h = this.clock();
    if (!Number.isSafeInteger(h.wall) || h.wall < 0 || h.wall > MAX_WALL || !Number.isSafeInteger(h.counter) || h.counter < 0 || h.counter > MAX_HLC_COUNTER) {
      throw new CcsError('USAGE', `clock returned an invalid HLC ${JSON.stringify(h)}`);
    }
    return (this.stamp = { wall: h.wall, counter: h.counter });
  }

  // Literals of one shape (no spreads): V8 keeps 100,000s of them in one hidden class.
  write(kind: Kind, value?: JsonValue): Write {
    const { device, counter } = this.dot();
    return { device, counter, hlc: this.hlc(), kind, value: kind === VALUE ? (value ?? null) : undefined };
  }

  order(list: readonly string[]): OrderWrite {
    const { device, counter } = this.dot();
    return { device, counter, hlc: this.hlc(), list: Object.freeze([...list]) };
  }

  replace(slot: Slot | undefined): void {
    collectDots(slot, this.removed);
  }
}

export interface Change {
  /** The slot after the edit (only meaningful when `changed`). */
  readonly slot: Slot | undefined;
  /** The new writes only, at their paths: joined with `Writer.added` + `removed` as context, the delta. */
  readonly delta: Slot | undefined;
  readonly changed: boolean;
}

// Most keys of a big document are unchanged by an edit: one shared answer, no allocation.
const UNCHANGED: Change = Object.freeze({ slot: undefined, delta: undefined, changed: false });

export function writeSlot(slot: Slot | undefined, value: JsonValue | undefined, w: Writer): Change {
  const top = slot && winner(slot.reg);
  const kind = top ? top.kind : DELETED;
  if (value === undefined) return kind === DELETED ? UNCHANGED : replaceWith(slot, w.write(DELETED), w);
  if (isJsonObject(value)) {
    if (kind === OBJECT) return writeObject(slot!, value, w, undefined);
    const fresh = replaceWith(slot, w.write(OBJECT), w);
    return writeObject(fresh.slot!, value, w, fresh.delta);
  }
  if (Array.isArray(value) && isStringSet(value)) {
    if (kind === SET) return writeSet(slot!, value, w, undefined);
    const fresh = replaceWith(slot, w.write(SET), w);
    return writeSet(fresh.slot!, value, w, fresh.delta);
  }
  if (kind === VALUE && jsonEqual(top!.value ?? null, value)) return UNCHANGED;
  return replaceWith(slot, w.write(VALUE, freezeJson(value)), w);
}

function replaceWith(slot: Slot | undefined, write: Write, w: Writer): Change {
  w.replace(slot);
  const s: Slot = { reg: [write] };
  return { slot: s, delta: s, changed: true };
}

/** `fresh` is the delta of a just-written "object" (children then all go into it). */
function writeObject(base: Slot, value: JsonObject, w: Writer, fresh: Slot | undefined): Change {
  const children = base.obj ?? new Map<string, Slot>();
  const out: { obj?: Map<string, Slot>; delta?: Map<string, Slot> } = {};
  const apply = (k: string, r: Change) => {
    if (!r.changed) return;
    // Under a fresh "object" write the children map was created here, so it may be filled in place.
    const obj = (out.obj ??= fresh ? (children as Map<string, Slot>) : new Map(children));
    if (r.slot) obj.set(k, r.slot);
    else obj.delete(k);
    if (r.delta) (out.delta ??= new Map()).set(k, r.delta);
  };
  for (const k of Object.keys(value)) apply(k, writeSlot(children.get(k), value[k], w));
  for (const [k, child] of children) if (!Object.hasOwn(value, k) && isVisible(child)) apply(k, writeSlot(child, undefined, w));
  if (!out.obj && !fresh) return UNCHANGED;
  return { slot: makeSlot(base.reg, out.obj ?? children, base.set, base.ord), delta: makeSlot(fresh?.reg ?? NO_DOTS, out.delta, undefined, undefined), changed: true };
}

function writeSet(base: Slot, list: readonly string[], w: Writer, fresh: Slot | undefined): Change {
  const current = base.set ?? new Map<string, readonly Dot[]>();
  const wanted = new Set(list);
  let set: Map<string, readonly Dot[]> | undefined;
  const deltaSet = new Map<string, readonly Dot[]>();
  for (const e of list) {
    if (current.has(e)) continue;
    const dots = [w.dot()];
    (set ??= new Map(current)).set(e, dots);
    deltaSet.set(e, dots);
  }
  for (const [e, dots] of current) {
    if (wanted.has(e)) continue;
    (set ??= new Map(current)).delete(e);
    w.removed.push(...dots);
  }
  if (!fresh && !set && sameList(setOrder(base), list)) return UNCHANGED;
  // The writer's full list becomes the order; it replaces the order writes it has seen.
  w.removed.push(...(base.ord ?? NO_DOTS));
  const ord = list.length > 0 ? [w.order(list)] : undefined;
  return {
    slot: makeSlot(base.reg, base.obj, set ?? current, ord),
    delta: makeSlot(fresh?.reg ?? NO_DOTS, undefined, deltaSet, ord),
    changed: true,
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Rewrites the visible write of a key as a new write, replacing the concurrent ones: conflict settled. */
export function resolveSlot(slot: Slot | undefined, w: Writer): Change {
  const top = slot && winner(slot.reg);
  if (!slot || !top || slot.reg.length < 2) return UNCHANGED;
  const write = w.write(top.kind, top.value);
  w.removed.push(...slot.reg);
  if (top.kind !== OBJECT) w.replace(makeSlot(NO_DOTS, slot.obj, undefined, undefined));
  if (top.kind !== SET) w.replace(makeSlot(NO_DOTS, undefined, slot.set, slot.ord));
  return {
    slot: makeSlot([write], top.kind === OBJECT ? slot.obj : undefined, top.kind === SET ? slot.set : undefined, top.kind === SET ? slot.ord : undefined),
    delta: { reg: [write] },
    changed: true,
  };
}

/** Applies `edit` to the slot at `path`, descending only through visible objects. */
export function editAt(slot: Slot | undefined, path: readonly string[], edit: (s: Slot | undefined) => Change): Change {
  const [key, ...rest] = path;
  if (key === undefined) return edit(slot);
  if (!slot || winner(slot.reg)?.kind !== OBJECT) return UNCHANGED;
  const r = editAt(slot.obj?.get(key), rest, edit);
  if (!r.changed) return UNCHANGED;
  const obj = new Map(slot.obj);
  if (r.slot) obj.set(key, r.slot);
  else obj.delete(key);
  return {
    slot: makeSlot(slot.reg, obj, slot.set, slot.ord),
    delta: r.delta && { reg: NO_DOTS, obj: new Map([[key, r.delta]]) },
    changed: true,
  };
}

/**
 * Targeted edits: path → new value (undefined deletes), applied in order, without diffing the
 * rest of the document. Paths may overlap; a later edit inside an earlier one edits its value.
 */
export interface EditTree {
  value?: JsonValue | undefined;
  /** Set when `value` replaces the whole subtree (even by undefined: a delete). */
  replaced?: boolean;
  children?: Map<string, EditTree>;
}

export function addEdit(tree: EditTree, path: readonly string[], value: JsonValue | undefined): void {
  let node = tree;
  for (let i = 0; i < path.length; i++) {
    if (node.replaced) {
      node.value = withPath(node.value, path.slice(i), value);
      return;
    }
    let next = (node.children ??= new Map()).get(path[i]!);
    if (!next) node.children.set(path[i]!, (next = {}));
    node = next;
  }
  node.value = value;
  node.replaced = true;
  delete node.children;
}

/** `root` with the value at `path` replaced, copying only the objects on the path. */
function withPath(root: JsonValue | undefined, path: readonly string[], value: JsonValue | undefined): JsonValue | undefined {
  const [key, ...rest] = path;
  if (key === undefined) return value;
  const obj = isJsonObject(root) ? root : {};
  const entries = Object.entries(obj).filter(([k]) => k !== key);
  const child = withPath(Object.hasOwn(obj, key) ? obj[key] : undefined, rest, value);
  return makeObject(child === undefined ? entries : [...entries, [key, child]]);
}

export function editSlot(slot: Slot | undefined, node: EditTree, w: Writer): Change {
  if (node.replaced) return writeSlot(slot, node.value, w);
  if (!node.children) return UNCHANGED;
  // Edits below a key that is not an object make it one, as writing the value would.
  const top = slot && winner(slot.reg);
  const fresh = top?.kind === OBJECT ? undefined : replaceWith(slot, w.write(OBJECT), w);
  const base = fresh ? fresh.slot! : slot!;
  const children = base.obj ?? new Map<string, Slot>();
  let obj: Map<string, Slot> | undefined;
  const deltaObj = new Map<string, Slot>();
  for (const [k, child] of node.children) {
    const r = editSlot(children.get(k), child, w);
    if (!r.changed) continue;
    obj ??= new Map(children);
    if (r.slot) obj.set(k, r.slot);
    else obj.delete(k);
    if (r.delta) deltaObj.set(k, r.delta);
  }
  if (!obj && !fresh) return UNCHANGED;
  return { slot: makeSlot(base.reg, obj ?? children, base.set, base.ord), delta: makeSlot(fresh?.delta?.reg ?? NO_DOTS, deltaObj, undefined, undefined), changed: true };
}
