/**
 * CRDT types by name, so a state can say what it is ("t" in its encoding) and a new type can be
 * plugged in without touching the code that stores and merges states.
 */
import { CcsError } from '../common/errors';
import type { VersionVector } from '../common/versionVector';
import { corrupt, readRecord } from './codec';
import { G_COUNTER, GCounter } from './gCounter';
import { JSON_DOC, JsonDoc } from './jsonDoc';
import { LWW_REGISTER, LwwRegister } from './lwwRegister';
import { OR_SET, OrSet } from './orSet';
import { PN_COUNTER, PnCounter } from './pnCounter';

export interface CrdtType<S> {
  /** Lowercase words joined by "-"; also the "t" field of the encoding (see codec.ts encodeEnvelope). */
  readonly name: string;
  empty(): S;
  /** Must be commutative, associative and idempotent. */
  merge(a: S, b: S): S;
  encode(state: S): string;
  /** Must throw CcsError OBJECT_CORRUPT for malformed input. */
  decode(text: string): S;
  /** The plain value a user sees. */
  value?(state: S): unknown;
  /** Types that keep tombstones drop those causally stable at `stable`. */
  gc?(state: S, stable: VersionVector): S;
}

const types = new Map<string, CrdtType<unknown>>();

export function registerCrdt<S>(type: CrdtType<S>): void {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(type.name)) throw new CcsError('USAGE', `invalid CRDT type name ${JSON.stringify(type.name)}`);
  if (types.has(type.name)) throw new CcsError('USAGE', `CRDT type ${type.name} is already registered`);
  types.set(type.name, type as unknown as CrdtType<unknown>);
}

export function getCrdt<S = unknown>(name: string): CrdtType<S> | undefined {
  return types.get(name) as CrdtType<S> | undefined;
}

export function crdtNames(): string[] {
  return [...types.keys()].sort();
}

/** Decodes a state of any registered type, named by its "t" field. */
export function decodeCrdt(text: string): { type: CrdtType<unknown>; state: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    corrupt('not JSON', e);
  }
  const name = readRecord(parsed, 'envelope').t;
  if (typeof name !== 'string') corrupt('no type name');
  const type = types.get(name);
  if (!type) throw new CcsError('FORMAT_UNSUPPORTED', `unknown CRDT type ${JSON.stringify(name).slice(0, 60)}: written by a newer version?`);
  return { type, state: type.decode(text) };
}

registerCrdt<LwwRegister>({ name: LWW_REGISTER, empty: () => LwwRegister.empty(), merge: (a, b) => a.merge(b), encode: (s) => s.encode(), decode: (t) => LwwRegister.decode(t), value: (s) => s.value });
registerCrdt<GCounter>({ name: G_COUNTER, empty: () => GCounter.empty(), merge: (a, b) => a.merge(b), encode: (s) => s.encode(), decode: (t) => GCounter.decode(t), value: (s) => s.value });
registerCrdt<PnCounter>({ name: PN_COUNTER, empty: () => PnCounter.empty(), merge: (a, b) => a.merge(b), encode: (s) => s.encode(), decode: (t) => PnCounter.decode(t), value: (s) => s.value });
registerCrdt<OrSet>({ name: OR_SET, empty: () => OrSet.empty(), merge: (a, b) => a.merge(b), encode: (s) => s.encode(), decode: (t) => OrSet.decode(t), value: (s) => s.values() });
registerCrdt<JsonDoc>({
  name: JSON_DOC,
  empty: () => JsonDoc.empty(),
  merge: (a, b) => a.merge(b),
  encode: (s) => s.encode(),
  decode: (t) => JsonDoc.decode(t),
  value: (s) => s.toValue(),
  gc: (s, stable) => s.gc(stable),
});
