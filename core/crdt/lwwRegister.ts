/**
 * Last-writer-wins register. The later (HLC, device) stamp wins (stamp.ts), so a device whose
 * wall clock is fast or steps back cannot beat a write that causally follows its own, as long as
 * every writer advances its HLC past the stamps it has received (hlcReceive) before writing.
 * Immutable: every operation returns a new register.
 */
import { canonicalJson } from '../common/canonicalJson';
import { CcsError } from '../common/errors';
import type { Hlc } from '../common/hlc';
import { corrupt, decodeEnvelope, encodeEnvelope, readArray, readHlc, readString } from './codec';
import { readJsonValue, toJsonValue, type JsonValue } from './jsonValue';
import { stampCompare, type Stamp } from './stamp';

export interface LwwEntry<T> extends Stamp {
  readonly value: T;
}

export const LWW_REGISTER = 'lww-register';

export class LwwRegister<T extends JsonValue = JsonValue> {
  private static readonly EMPTY = new LwwRegister<never>(undefined);

  private constructor(readonly entry: LwwEntry<T> | undefined) {}

  static empty<T extends JsonValue = JsonValue>(): LwwRegister<T> {
    return LwwRegister.EMPTY;
  }

  /** The value, or undefined before the first write. */
  get value(): T | undefined {
    return this.entry?.value;
  }

  /**
   * Writes `value` at `hlc`. The returned delta is the op to send: applying it (merge) twice, or
   * after a later write, changes nothing.
   */
  set(value: T, hlc: Hlc, device: string): { state: LwwRegister<T>; delta: LwwRegister<T> } {
    if (device === '') throw new CcsError('USAGE', 'device id must not be empty');
    const delta = new LwwRegister<T>({ value: toJsonValue(value) as T, hlc: { wall: hlc.wall, counter: hlc.counter }, device });
    return { state: this.merge(delta), delta };
  }

  merge(other: LwwRegister<T>): LwwRegister<T> {
    const a = this.entry;
    const b = other.entry;
    if (!a) return other;
    if (!b) return this;
    const c = stampCompare(a, b);
    if (c !== 0) return c > 0 ? this : other;
    // One device never stamps two writes alike; if a corrupt or forged state does, the value
    // decides, so merge stays commutative.
    return canonicalJson(a.value) >= canonicalJson(b.value) ? this : other;
  }

  encode(): string {
    const e = this.entry;
    return encodeEnvelope(LWW_REGISTER, e ? { e: [e.hlc.wall, e.hlc.counter, e.device, e.value] } : {});
  }

  static decode(text: string): LwwRegister {
    const env = decodeEnvelope(text, LWW_REGISTER, ['e']);
    if (env.e === undefined) return LwwRegister.EMPTY;
    const e = readArray(env.e, 'entry');
    if (e.length !== 4) corrupt('entry is not [wall, counter, device, value]');
    const hlc = readHlc(e[0], e[1], 'entry');
    const device = readString(e[2], 'entry device');
    if (device === '') corrupt('empty device id');
    return new LwwRegister({ hlc, device, value: readJsonValue(e[3], 'entry value') });
  }
}
