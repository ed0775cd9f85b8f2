import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, readInt } from './codec';
import { GCounter } from './gCounter';
import { JsonDoc } from './jsonDoc';
import { crdtNames, decodeCrdt, getCrdt, registerCrdt } from './registry';
import { expectCode } from './testLaws';

describe('CRDT registry', () => {
  it('has the built-in types', () => {
    expect(crdtNames()).toEqual(['g-counter', 'json-doc', 'lww-register', 'or-set', 'pn-counter']);
    const json = getCrdt<JsonDoc>('json-doc')!;
    const a = JsonDoc.fromValue({ a: 1 }, 'x', { wall: 1, counter: 0 });
    const b = JsonDoc.fromValue({ b: 2 }, 'y', { wall: 1, counter: 0 });
    expect(json.value!(json.merge(a, b))).toEqual({ a: 1, b: 2 });
    expect(json.gc).toBeDefined();
  });

  it('plugs in a custom type by name and merges through the registry', () => {
    // A max-register: the greatest number written anywhere.
    registerCrdt<number>({
      name: 'max-register',
      empty: () => 0,
      merge: (a, b) => Math.max(a, b),
      encode: (n) => encodeEnvelope('max-register', { n }),
      decode: (text) => readInt(decodeEnvelope(text, 'max-register', ['n']).n, 'value', 0),
      value: (n) => n,
    });
    const type = getCrdt<number>('max-register')!;
    const replicas = [3, 9, 4].map((n) => type.merge(type.empty(), n));
    const merged = replicas.reduce((a, b) => type.merge(a, b), type.empty());
    expect(merged).toBe(9);
    const { type: found, state } = decodeCrdt(type.encode(merged));
    expect(found.name).toBe('max-register');
    expect(state).toBe(9);
    expectCode(() => type.decode('{"t":"max-register","v":1,"n":-1}'), 'OBJECT_CORRUPT');
  });

  it('refuses duplicate and malformed names', () => {
    const gc = { empty: () => GCounter.empty(), merge: (a: GCounter, b: GCounter) => a.merge(b), encode: (s: GCounter) => s.encode(), decode: (t: string) => GCounter.decode(t) };
    expectCode(() => registerCrdt({ name: 'g-counter', ...gc }), 'USAGE');
    expectCode(() => registerCrdt({ name: 'Bad Name', ...gc }), 'USAGE');
  });

  it('decodes any registered state by its type field; unknown types are FORMAT_UNSUPPORTED', () => {
    const counter = GCounter.empty().increment('d', 2).state;
    expect((decodeCrdt(counter.encode()).state as GCounter).value).toBe(2);
    expectCode(() => decodeCrdt('{"t":"from-the-future","v":1}'), 'FORMAT_UNSUPPORTED');
    expectCode(() => decodeCrdt('nope'), 'OBJECT_CORRUPT');
    expectCode(() => decodeCrdt('{"v":1}'), 'OBJECT_CORRUPT');
  });
});
