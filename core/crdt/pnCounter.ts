/** Counter that can go down: two grow-only counters, increments and decrements (value = P − N). */
import { CcsError } from '../common/errors';
import { decodeEnvelope, encodeEnvelope } from './codec';
import { GCounter } from './gCounter';

export const PN_COUNTER = 'pn-counter';

export class PnCounter {
  static readonly EMPTY = new PnCounter(GCounter.EMPTY, GCounter.EMPTY);

  private constructor(
    private readonly p: GCounter,
    private readonly n: GCounter,
  ) {}

  static empty(): PnCounter {
    return PnCounter.EMPTY;
  }

  get value(): number {
    return this.p.value - this.n.value;
  }

  /** Adds `by` (negative to subtract); the delta carries only the half that changed. */
  add(device: string, by: number): { state: PnCounter; delta: PnCounter } {
    if (!Number.isSafeInteger(by)) throw new CcsError('USAGE', `a counter moves by an integer, not ${by}`);
    if (by === 0) return { state: this, delta: PnCounter.EMPTY };
    if (by > 0) {
      const { state, delta } = this.p.increment(device, by);
      return { state: new PnCounter(state, this.n), delta: new PnCounter(delta, GCounter.EMPTY) };
    }
    const { state, delta } = this.n.increment(device, -by);
    return { state: new PnCounter(this.p, state), delta: new PnCounter(GCounter.EMPTY, delta) };
  }

  merge(other: PnCounter): PnCounter {
    if (other === this) return this;
    return new PnCounter(this.p.merge(other.p), this.n.merge(other.n));
  }

  encode(): string {
    return encodeEnvelope(PN_COUNTER, { p: this.p.toObject(), n: this.n.toObject() });
  }

  static decode(text: string): PnCounter {
    const env = decodeEnvelope(text, PN_COUNTER, ['p', 'n']);
    return new PnCounter(GCounter.fromObject(env.p, 'increments'), GCounter.fromObject(env.n, 'decrements'));
  }
}
