/**
 * Grow-only counter: one count per device, each only ever increased by its own device, so merge is
 * the pointwise maximum. The delta of an increment carries the device's new total (not "+n"),
 * which is what makes redelivering it harmless.
 */
import { CcsError } from '../common/errors';
import { corrupt, decodeEnvelope, encodeEnvelope, readInt, readRecord } from './codec';

export const G_COUNTER = 'g-counter';

export class GCounter {
  static readonly EMPTY = new GCounter(new Map());

  private constructor(private readonly counts: ReadonlyMap<string, number>) {}

  static empty(): GCounter {
    return GCounter.EMPTY;
  }

  get value(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** This device's own contribution. */
  of(device: string): number {
    return this.counts.get(device) ?? 0;
  }

  increment(device: string, by = 1): { state: GCounter; delta: GCounter } {
    if (device === '') throw new CcsError('USAGE', 'device id must not be empty');
    if (!Number.isSafeInteger(by) || by < 1) throw new CcsError('USAGE', `a counter grows by a positive integer, not ${by}`);
    const total = this.of(device) + by;
    if (!Number.isSafeInteger(total) || !Number.isSafeInteger(this.value + by)) throw new CcsError('USAGE', 'counter overflow');
    const delta = new GCounter(new Map([[device, total]]));
    return { state: this.merge(delta), delta };
  }

  merge(other: GCounter): GCounter {
    if (other === this || other.counts.size === 0) return this;
    if (this.counts.size === 0) return other;
    const out = new Map(this.counts);
    for (const [d, n] of other.counts) if (n > (out.get(d) ?? 0)) out.set(d, n);
    return new GCounter(out);
  }

  encode(): string {
    return encodeEnvelope(G_COUNTER, { c: this.toObject() });
  }

  /** Device → count, devices sorted (the encoded form, also used by PNCounter). */
  toObject(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  static fromObject(x: unknown, what: string): GCounter {
    const counts = new Map<string, number>();
    let sum = 0;
    for (const [d, n] of Object.entries(readRecord(x, what))) {
      if (d === '') corrupt('empty device id');
      sum += readInt(n, `${what} count`, 1);
      if (!Number.isSafeInteger(sum)) corrupt(`${what} overflows`);
      counts.set(d, n as number);
    }
    return counts.size === 0 ? GCounter.EMPTY : new GCounter(counts);
  }

  static decode(text: string): GCounter {
    return GCounter.fromObject(decodeEnvelope(text, G_COUNTER, ['c']).c, 'counts');
  }
}
