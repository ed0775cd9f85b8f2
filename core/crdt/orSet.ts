/**
 * Observed-remove set, add-wins (the "optimized OR-Set" of Bieniusa et al. 2012, as a causal
 * CRDT). Every add tags the element with a fresh dot (device, counter); remove drops exactly the
 * tags it has observed. A tag added concurrently elsewhere was not observed, so it survives: a
 * concurrent add beats a remove.
 *
 * Removed tags need no tombstones: they stay in the set's causal context (a version vector per
 * device, dotContext.ts), and a tag that is in the context but not in the set was removed. So a
 * removal shrinks the state at once and there is nothing for causal-stability GC to collect.
 *
 * Elements are strings; encode anything else with a stable key. Immutable.
 */
import { CcsError } from '../common/errors';
import { DeltaReader, DeltaWriter, DeviceTable, DotRegistry, corrupt, decodeEnvelope, encodeEnvelope, readArray, readContext, readDevices, readInt, readString, writeContext } from './codec';
import { DotContext, dotCompare, type Dot } from './dotContext';
import { NO_DOTS, joinDots, joinMaps } from './dotStore';

export const OR_SET = 'or-set';

type Entries = ReadonlyMap<string, readonly Dot[]>;

export class OrSet {
  static readonly EMPTY = new OrSet(new Map(), DotContext.EMPTY);

  private constructor(
    private readonly entries: Entries,
    readonly context: DotContext,
  ) {}

  static empty(): OrSet {
    return OrSet.EMPTY;
  }

  has(element: string): boolean {
    return this.entries.has(element);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Elements in code-unit order, so every replica lists them alike. */
  values(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** Tags of one element (for tests and diagnostics). */
  tags(element: string): readonly Dot[] {
    return this.entries.get(element) ?? NO_DOTS;
  }

  /**
   * Adds with a fresh tag, replacing the element's observed tags (so an element carries one tag
   * unless concurrent adds met). The delta is the op to send; redelivering it changes nothing.
   */
  add(element: string, device: string): { state: OrSet; delta: OrSet } {
    return this.addAll([element], device);
  }

  /** Several adds at once: one copy of the state instead of one per element. */
  addAll(elements: Iterable<string>, device: string): { state: OrSet; delta: OrSet } {
    if (device === '') throw new CcsError('USAGE', 'device id must not be empty');
    let counter = this.context.max(device);
    const entries = new Map(this.entries);
    const added = new Map<string, readonly Dot[]>();
    const observed: Dot[] = [];
    const own: Dot[] = [];
    for (const element of elements) {
      observed.push(...(entries.get(element) ?? NO_DOTS));
      const dot: Dot = { device, counter: ++counter };
      own.push(dot);
      entries.set(element, [dot]);
      added.set(element, [dot]);
    }
    if (own.length === 0) return { state: this, delta: OrSet.EMPTY };
    return { state: new OrSet(entries, this.context.withDots(own)), delta: new OrSet(added, DotContext.fromDots([...own, ...observed])) };
  }

  /** Removes the observed tags only; the delta is just those tags, as context. */
  remove(element: string): { state: OrSet; delta: OrSet } {
    return this.removeAll([element]);
  }

  removeAll(elements: Iterable<string>): { state: OrSet; delta: OrSet } {
    const entries = new Map(this.entries);
    const dots: Dot[] = [];
    for (const element of elements) {
      dots.push(...(entries.get(element) ?? NO_DOTS));
      entries.delete(element);
    }
    if (dots.length === 0) return { state: this, delta: OrSet.EMPTY };
    return { state: new OrSet(entries, this.context), delta: new OrSet(new Map(), DotContext.fromDots(dots)) };
  }

  merge(other: OrSet): OrSet {
    if (other === this) return this;
    const ca = this.context;
    const cb = other.context;
    const entries = joinMaps(this.entries, other.entries, (x, y) => {
      const r = joinDots(x ?? NO_DOTS, ca, y ?? NO_DOTS, cb);
      return r.length > 0 ? r : undefined;
    });
    return new OrSet(entries ?? new Map(), ca.union(cb));
  }

  /** What this replica acknowledges for causal stability (see causalStability.ts). */
  versionVector(): Record<string, number> {
    return this.context.versionVector();
  }

  /**
   * `"e": [element, tags?, element, tags?, …]`, elements ascending; tags = [device, Δcounter, …]
   * (codec.ts delta coding). An element whose only tag is the next counter of the device of the
   * previous tag has none written: a batch of adds encodes as little more than its elements.
   */
  encode(): string {
    const table = new DeviceTable(this.context.entries().map((e) => e.device));
    const delta = new DeltaWriter();
    let lastDevice = -1;
    const e: unknown[] = [];
    for (const element of this.values()) {
      e.push(element);
      const tags = this.tags(element);
      const [only] = tags;
      if (tags.length === 1 && table.of(only!.device) === lastDevice && delta.continues(lastDevice, only!.counter)) {
        delta.dot(lastDevice, only!.counter);
        continue;
      }
      e.push(
        tags.flatMap((d) => {
          lastDevice = table.of(d.device);
          return [lastDevice, delta.dot(lastDevice, d.counter)];
        }),
      );
    }
    return encodeEnvelope(OR_SET, { d: table.devices, c: writeContext(this.context, table), e });
  }

  static decode(text: string): OrSet {
    const env = decodeEnvelope(text, OR_SET, ['d', 'c', 'e']);
    const devices = readDevices(env.d);
    const context = readContext(env.c, devices);
    const registry = new DotRegistry(context);
    const delta = new DeltaReader();
    const flat = readArray(env.e, 'elements');
    const entries = new Map<string, readonly Dot[]>();
    let lastDevice = -1;
    let previous: string | undefined;
    for (let i = 0; i < flat.length; i++) {
      const element = readString(flat[i], 'element');
      if (previous !== undefined && !(previous < element)) corrupt('elements not in ascending order');
      previous = element;
      const dots: Dot[] = [];
      if (!Array.isArray(flat[i + 1])) {
        if (lastDevice < 0) corrupt('an element without tags and no tag before it');
        dots.push(registry.claim({ device: devices[lastDevice]!, counter: delta.dot(lastDevice, 1) }));
      } else {
        const tags = flat[++i] as unknown[];
        if (tags.length === 0 || tags.length % 2 !== 0) corrupt('tags are not [device, counter] pairs');
        for (let j = 0; j < tags.length; j += 2) {
          lastDevice = readInt(tags[j], 'tag device index', 0, devices.length - 1);
          dots.push(registry.claim({ device: devices[lastDevice]!, counter: delta.dot(lastDevice, tags[j + 1]) }));
          if (dots.length > 1 && dotCompare(dots.at(-2)!, dots.at(-1)!) >= 0) corrupt('tags not in order');
        }
      }
      entries.set(element, dots);
    }
    return new OrSet(entries, context);
  }
}
