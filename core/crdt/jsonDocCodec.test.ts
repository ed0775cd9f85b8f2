import { describe, expect, it } from 'vitest';
import { JsonDoc } from './jsonDoc';
import { expectCode } from './testLaws';

const doc = JsonDoc.fromValue({ a: 1, s: ['x', 'y'], o: { n: null } }, 'dev0', { wall: 1_700_000_000_000, counter: 0 });
const valid = JSON.parse(doc.encode()) as Record<string, unknown>;
/** The decoded JSON of `doc.encode()`, loosely typed for surgery. */
interface Encoded {
  [field: string]: unknown;
  r: { [field: string]: unknown; o: unknown[] };
}
const child = (e: Encoded, i: number) => e.r.o[i] as Record<string, unknown>;
const variant = (f: (e: Encoded) => void): string => {
  const e = structuredClone(valid) as Encoded;
  f(e);
  return JSON.stringify(e);
};

describe('JsonDoc encoding', () => {
  it('is compact: device table, delta-coded dots and HLCs, the writes of one edit as bare values', () => {
    expect(doc.encode()).toBe(
      '{"t":"json-doc","v":1,"d":["dev0"],"c":[[0,8]],"r":{"r":[1,1,1700000000000,0],"o":["a",1,"o",{"r":[1,5,0,0],"o":["n",null]},"s",{"r":[2,-5,0,0],"s":["x",[0,1],"y",[0,1]],"q":[0,1,0,0,["x","y"]]}]}}',
    );
    expect(JsonDoc.decode(doc.encode()).equals(doc)).toBe(true);
    expect(JsonDoc.decode(JsonDoc.empty().encode())).toBe(JsonDoc.empty());
  });

  // Root writes dot 1; children: a (2), o (7) with n (8), s (3) with x (4), y (5) and its order (6).
  it.each([
    ['a dot outside the context', 'missing from its context', (e: Encoded) => (e.c = [[0, 7]])],
    ['a dot twice', 'twice', (e: Encoded) => (e.r.o[1] = [0, 0, 0, 0, 1])],
    ['writes out of order', 'not in dot order', (e: Encoded) => (child(e, 3).r = [[1, 6, 0, 0], [1, -1, 0, 0]])],
    ['a single write in a list', 'bare', (e: Encoded) => (e.r.o[1] = [[0, 1, 0, 0, 1]])],
    ['a slot of writes only in object form', 'canonical', (e: Encoded) => (e.r.o[1] = { r: [0, 1, 0, 0, 1] })],
    ['keys out of order', 'ascending', (e: Encoded) => (e.r.o = [...e.r.o.slice(2, 4), ...e.r.o.slice(0, 2), ...e.r.o.slice(4)])],
    ['a device index out of range', 'write head', (e: Encoded) => (e.r.o[1] = [4, 1, 0, 0, 1])],
    ['a value write without a value', 'wrong length', (e: Encoded) => (e.r.o[1] = [0, 1, 0, 0])],
    ['a value write holding an object', 'holds an object', (e: Encoded) => (e.r.o[1] = [0, 1, 0, 0, { x: 1 }])],
    ['a delete carrying a value', 'wrong length', (e: Encoded) => (e.r.o[1] = [3, 1, 0, 0, 1])],
    ['an empty slot', 'empty', (e: Encoded) => (e.r.o[1] = [])],
    ['an unknown field', 'unknown field', (e: Encoded) => (e.x = 1)],
    ['an unknown slot field', 'unknown slot field', (e: Encoded) => (e.r.z = 1)],
    ['a non-canonical context', 'compact', (e: Encoded) => (e.c = [[0, 7, 8]])],
    ['an unsorted device table', 'sorted', (e: Encoded) => (e.d = ['b', 'a'])],
    ['a wall beyond 15 digits', 'wall', (e: Encoded) => (e.r.r = [1, 1, 10 ** 15, 0])],
    ['a fractional counter', 'counter', (e: Encoded) => (e.r.o[1] = [0, 1.5, 0, 0, 1])],
    ['an order with duplicates', 'distinct', (e: Encoded) => (child(e, 5).q = [0, 1, 0, 0, ['x', 'x']])],
    ['another type', 'expected a json-doc', (e: Encoded) => (e.t = 'or-set')],
    ['a bare value with nothing to continue', 'no write before it', (e: Encoded) => ((e as { r: unknown }).r = 5)],
  ])('rejects %s as OBJECT_CORRUPT', (_, message, f) => {
    expect(() => JsonDoc.decode(variant(f))).toThrow(expect.objectContaining({ code: 'OBJECT_CORRUPT', message: expect.stringContaining(message) }));
  });

  it('rejects nesting deeper than the limit without overflowing the stack', () => {
    const slot = `${'{"r":[1,1,0,0],"o":["k",'.repeat(10_000)}[0,1,0,0,1]${']}'.repeat(10_000)}`;
    expectCode(() => JsonDoc.decode(`{"t":"json-doc","v":1,"d":["d"],"c":[[0,10001]],"r":${slot}}`), 'OBJECT_CORRUPT');
    expectCode(() => JsonDoc.decode(`{"t":"json-doc","v":1,"d":["d"],"c":[[0,1]],"r":[0,1,0,0,${'['.repeat(100_000)}${']'.repeat(100_000)}]}`), 'OBJECT_CORRUPT');
  });

  it('a newer format is FORMAT_UNSUPPORTED, not corrupt', () => {
    expectCode(() => JsonDoc.decode(variant((e) => (e.v = 2))), 'FORMAT_UNSUPPORTED');
  });
});
