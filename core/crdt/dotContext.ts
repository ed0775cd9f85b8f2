/**
 * Dots and the causal context of a causal CRDT (Almeida, Shoker, Baquero, "Delta state replicated
 * data types", 2018). A dot (device, counter) names one event; the context is the set of dots a
 * replica has seen, kept as a contiguous prefix per device plus the few dots seen beyond it (the
 * "cloud", left by deltas that arrived out of order). A dot that is in the context but no longer
 * in the state was removed or overwritten: that is how OR-Set removals and superseded writes are
 * remembered without a tombstone per element.
 *
 * Same model as core/common/causalContext.ts (per-item histories in log entries); this one is a
 * class with map lookups because CRDT states hold 100,000s of dots.
 */
export interface Dot {
  readonly device: string;
  /** 1, 2, 3, … per device and per CRDT instance, so the context compacts to a version vector. */
  readonly counter: number;
}

export function dotCompare(a: Dot, b: Dot): number {
  return a.device < b.device ? -1 : a.device > b.device ? 1 : a.counter - b.counter;
}

export function sameDot(a: Dot, b: Dot): boolean {
  return a.counter === b.counter && a.device === b.device;
}

export class DotContext {
  static readonly EMPTY = new DotContext(new Map(), new Map());

  private constructor(
    private readonly prefix: ReadonlyMap<string, number>,
    private readonly cloud: ReadonlyMap<string, ReadonlySet<number>>,
  ) {}

  /** Normalizes: cloud dots inside or adjacent to the prefix are folded into it. */
  static of(prefix: Iterable<readonly [string, number]>, cloud: Iterable<readonly [string, Iterable<number>]> = []): DotContext {
    const p = new Map<string, number>();
    for (const [d, n] of prefix) if (n > 0) p.set(d, Math.max(p.get(d) ?? 0, n));
    const c = new Map<string, Set<number>>();
    for (const [d, ns] of cloud) {
      let set = c.get(d);
      for (const n of ns) {
        if (!set) c.set(d, (set = new Set()));
        set.add(n);
      }
    }
    return DotContext.compact(p, c);
  }

  static fromDots(dots: Iterable<Dot>): DotContext {
    return DotContext.EMPTY.withDots(dots);
  }

  private static compact(prefix: Map<string, number>, cloud: Map<string, Set<number>>): DotContext {
    for (const [d, set] of cloud) {
      let n = prefix.get(d) ?? 0;
      for (const x of set) if (x <= n) set.delete(x);
      while (set.delete(n + 1)) n++;
      if (n > 0) prefix.set(d, n);
      if (set.size === 0) cloud.delete(d);
    }
    return prefix.size === 0 && cloud.size === 0 ? DotContext.EMPTY : new DotContext(prefix, cloud);
  }

  has(dot: Dot): boolean {
    return dot.counter <= (this.prefix.get(dot.device) ?? 0) || (this.cloud.get(dot.device)?.has(dot.counter) ?? false);
  }

  /** Highest counter of `device` seen; a device's next event is max + 1, which keeps dots unique. */
  max(device: string): number {
    let n = this.prefix.get(device) ?? 0;
    for (const x of this.cloud.get(device) ?? []) n = Math.max(n, x);
    return n;
  }

  withDots(dots: Iterable<Dot>): DotContext {
    const prefix = new Map(this.prefix);
    const cloud = new Map<string, Set<number>>();
    for (const [d, set] of this.cloud) cloud.set(d, new Set(set));
    let added = false;
    for (const dot of dots) {
      const n = prefix.get(dot.device) ?? 0;
      if (dot.counter <= n) continue;
      added = true;
      if (dot.counter === n + 1 && !cloud.has(dot.device)) prefix.set(dot.device, dot.counter);
      else {
        let set = cloud.get(dot.device);
        if (!set) cloud.set(dot.device, (set = new Set()));
        set.add(dot.counter);
      }
    }
    return added ? DotContext.compact(prefix, cloud) : this;
  }

  union(other: DotContext): DotContext {
    if (other === this || other === DotContext.EMPTY) return this;
    if (this === DotContext.EMPTY) return other;
    const prefix = new Map(this.prefix);
    for (const [d, n] of other.prefix) if (n > (prefix.get(d) ?? 0)) prefix.set(d, n);
    const cloud = new Map<string, Set<number>>();
    for (const source of [this.cloud, other.cloud]) {
      for (const [d, set] of source) {
        let out = cloud.get(d);
        if (!out) cloud.set(d, (out = new Set()));
        for (const x of set) out.add(x);
      }
    }
    return DotContext.compact(prefix, cloud);
  }

  /**
   * The contiguous prefix: "I have integrated every dot up to here". This is what a replica
   * acknowledges for causal stability (causalStability.ts); cloud dots are not acknowledged
   * because the gaps below them are not yet known.
   */
  versionVector(): Record<string, number> {
    return Object.fromEntries([...this.prefix].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** Devices in canonical (sorted) order, with prefix and sorted cloud: the encoded form. */
  entries(): { device: string; prefix: number; cloud: number[] }[] {
    const devices = new Set([...this.prefix.keys(), ...this.cloud.keys()]);
    return [...devices].sort().map((device) => ({
      device,
      prefix: this.prefix.get(device) ?? 0,
      cloud: [...(this.cloud.get(device) ?? [])].sort((a, b) => a - b),
    }));
  }
}
