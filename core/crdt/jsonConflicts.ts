/**
 * Same-key concurrent edits. Concurrent writes to one key both survive in its register (the dot
 * join keeps a write unless the other side had seen it), so a conflict is part of the state, not
 * of one merge: every replica that has both writes reports it, with the same winner applied,
 * until a later write to the key (an edit, or `JsonDoc.resolve`) replaces both.
 */
import type { Hlc } from '../common/hlc';
import { DELETED, OBJECT, renderAs, writeCompare, type Slot } from './jsonSlot';
import { jsonEqual, type JsonValue } from './jsonValue';

export interface JsonConflictSide {
  /** What the key shows if this write wins; undefined for a delete. */
  readonly value: unknown;
  readonly deleted: boolean;
  readonly device: string;
  readonly hlc: Hlc;
}

export interface JsonConflict {
  /** Object keys from the document root. */
  readonly path: readonly string[];
  /** The write applied on every device: the greatest (HLC, device). */
  readonly winner: JsonConflictSide;
  /** Concurrent writes that lost and show something else, newest first. */
  readonly others: readonly JsonConflictSide[];
}

export function collectConflicts(slot: Slot | undefined, path: string[], out: JsonConflict[]): void {
  if (!slot) return;
  const writes = [...slot.reg].sort((a, b) => writeCompare(b, a));
  const [top] = writes;
  if (!top) return;
  if (writes.length > 1) {
    // Two objects (or two string sets) written concurrently merge key by key (element by
    // element): they render alike and are not reported; only differing outcomes are.
    const sides = writes.map((w) => ({ value: renderAs(slot, w), deleted: w.kind === DELETED, device: w.device, hlc: w.hlc }));
    const [first, ...rest] = sides;
    const others = rest.filter((s) => s.deleted !== first!.deleted || !jsonEqual((s.value ?? null) as JsonValue, (first!.value ?? null) as JsonValue));
    if (others.length > 0) out.push({ path, winner: first!, others });
  }
  if (top.kind === OBJECT) {
    for (const k of [...(slot.obj?.keys() ?? [])].sort()) collectConflicts(slot.obj!.get(k), [...path, k], out);
  }
}
