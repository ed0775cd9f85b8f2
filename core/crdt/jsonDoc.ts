/**
 * The JSON document CRDT for settings.json and other *.json files: generic over any JSON, so keys
 * it does not know are kept like any other.
 *
 * - An object is a map: each key merges on its own, nested objects recurse.
 * - A scalar, and an array that is not a string set, is a register: the causally later write
 *   wins; of concurrent writes the greater (HLC, device) wins, and the others stay reported as a
 *   conflict (`conflicts()`) until the key is written again or `resolve`d.
 * - An array of distinct strings (e.g. `permissions.allow`) is an observed-remove set: entries
 *   added on different devices all survive; a removed entry stays removed unless it was re-added
 *   concurrently. Order: the latest writer's order for the entries it listed, then entries only
 *   concurrent writers listed, in their order (jsonSlot.ts `setOrder`).
 * - Removing a key writes a tombstone with an HLC: of a concurrent set and remove, the later HLC
 *   wins (and it is a conflict). Removing an object removes its subtree; edits made inside it
 *   concurrently do not bring it back.
 *
 * Causality (concurrent vs happened-before) comes from dots and the document's causal context
 * (dotContext.ts), never from clocks. docs/CRDT.md has the full model.
 *
 * Immutable: update, merge, resolve and gc return new documents and share unchanged parts.
 */
import { HLC_ZERO, hlcCompare, type Hlc } from '../common/hlc';
import type { VersionVector } from '../common/versionVector';
import { DotContext } from './dotContext';
import { Writer, addEdit, editAt, editSlot, resolveSlot, writeSlot, type Change, type EditTree } from './jsonDiff';
import { JSON_DOC, decodeJsonDoc, encodeJsonDoc } from './jsonDocCodec';
import { collectConflicts, type JsonConflict } from './jsonConflicts';
import { NO_DOTS } from './dotStore';
import { gcSlot, joinSlot, render, type Slot } from './jsonSlot';
import { assertJsonValue, type JsonValue } from './jsonValue';

export { JSON_DOC };

export interface JsonDocUpdate {
  readonly doc: JsonDoc;
  readonly changed: boolean;
  /**
   * Only this update's writes, plus the dots they replaced as context: merging it into any
   * replica has the effect of the update; merging it again, or out of order, changes nothing.
   */
  readonly delta: JsonDoc;
}

export class JsonDoc {
  static readonly EMPTY = new JsonDoc(undefined, DotContext.EMPTY);

  private constructor(
    private readonly root: Slot | undefined,
    readonly context: DotContext,
  ) {}

  static empty(): JsonDoc {
    return JsonDoc.EMPTY;
  }

  /** A new document holding `value`, all of it written by `device` at `hlc`. */
  static fromValue(value: unknown, device: string, hlc: Hlc): JsonDoc {
    return JsonDoc.EMPTY.update(value, device, () => hlc).doc;
  }

  /**
   * Records the difference between what the document shows and `newValue` (a parsed file;
   * undefined = the file is gone) as writes of `device`, all stamped with one HLC from `clock`
   * (called once, and only if something changed).
   * The clock should have received `maxHlc()` of every state merged in (hlcReceive), so the HLCs
   * of new writes also sort after what this device has seen.
   */
  update(newValue: unknown, device: string, clock: () => Hlc): JsonDocUpdate {
    // Checked here, copied only where stored (register values): no copy of a 100,000-key object.
    if (newValue !== undefined) assertJsonValue(newValue);
    const value = newValue;
    const w = new Writer(device, this.context, clock);
    return this.apply(writeSlot(this.root, value, w), w);
  }

  /**
   * Targeted edits, for a caller that knows what changed (e.g. a metadata index): each
   * `[path, value]` sets the value at `path` (object keys from the root; undefined deletes),
   * in order, without diffing the rest of the document. Same writes as `update` with the edited
   * value; keys on the way that are not objects become objects.
   */
  edit(changes: Iterable<readonly [path: readonly string[], value: unknown]>, device: string, clock: () => Hlc): JsonDocUpdate {
    const tree: EditTree = {};
    for (const [path, value] of changes) {
      if (value !== undefined) assertJsonValue(value);
      addEdit(tree, path, value as JsonValue | undefined);
    }
    const w = new Writer(device, this.context, clock);
    return this.apply(editSlot(this.root, tree, w), w);
  }

  /**
   * Settles the conflict at `path` by rewriting its winning value as a new write of `device`,
   * which replaces the concurrent writes. No change when there is no conflict there.
   */
  resolve(path: readonly string[], device: string, clock: () => Hlc): JsonDocUpdate {
    const w = new Writer(device, this.context, clock);
    return this.apply(
      editAt(this.root, path, (s) => resolveSlot(s, w)),
      w,
    );
  }

  private apply(r: Change, w: Writer): JsonDocUpdate {
    if (!r.changed) return { doc: this, changed: false, delta: JsonDoc.EMPTY };
    const doc = new JsonDoc(r.slot, this.context.withDots(w.added));
    const delta = new JsonDoc(r.delta, DotContext.fromDots([...w.added, ...w.removed]));
    return { doc, changed: true, delta };
  }

  merge(other: JsonDoc): JsonDoc {
    if (other === this || other === JsonDoc.EMPTY) return this;
    if (this === JsonDoc.EMPTY) return other;
    return new JsonDoc(joinSlot(this.root, this.context, other.root, other.context), this.context.union(other.context));
  }

  /** The document as plain JSON (fresh, mutable), or undefined when there is none (never written, or deleted). */
  toValue(): unknown {
    return render(this.root);
  }

  /** Same-key concurrent edits present in this state, by path. */
  conflicts(): JsonConflict[] {
    const out: JsonConflict[] = [];
    collectConflicts(this.root, [], out);
    return out;
  }

  /** What this replica acknowledges for causal stability (causalStability.ts). */
  versionVector(): Record<string, number> {
    return this.context.versionVector();
  }

  /** The greatest HLC of any write held: feed it to hlcReceive before writing after a merge. */
  maxHlc(): Hlc {
    let max = HLC_ZERO;
    const walk = (s: Slot) => {
      for (const w of s.reg) if (hlcCompare(w.hlc, max) > 0) max = w.hlc;
      for (const o of s.ord ?? NO_DOTS) if (hlcCompare(o.hlc, max) > 0) max = o.hlc;
      for (const c of s.obj?.values() ?? []) walk(c);
    };
    if (this.root) walk(this.root);
    return max;
  }

  /**
   * Drops tombstones and hidden content whose dots are all at or below `stable`. Pass
   * `collectableFrontier(…)`: with a frontier that is not causally stable, replicas still
   * converge, but a concurrent write may then beat a newer delete.
   */
  gc(stable: VersionVector): JsonDoc {
    const root = this.root && gcSlot(this.root, stable, false);
    return root === this.root ? this : new JsonDoc(root, this.context);
  }

  encode(): string {
    return encodeJsonDoc(this.root, this.context);
  }

  /** Throws CcsError OBJECT_CORRUPT for anything malformed (FORMAT_UNSUPPORTED for a newer format). */
  static decode(text: string): JsonDoc {
    const { root, ctx } = decodeJsonDoc(text);
    if (!root && ctx === DotContext.EMPTY) return JsonDoc.EMPTY;
    return new JsonDoc(root, ctx);
  }

  /** Same state (not just same value): what the CRDT laws compare. */
  equals(other: JsonDoc): boolean {
    return this === other || this.encode() === other.encode();
  }
}
