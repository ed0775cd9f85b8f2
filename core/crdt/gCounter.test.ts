import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GCounter } from './gCounter';
import { crdtLaws } from './testLaws';

crdtLaws('GCounter', {
  empty: GCounter.empty(),
  op: fc.integer({ min: 1, max: 5 }),
  apply: (s, by, device) => s.increment(device, by),
  merge: (a, b) => a.merge(b),
  encode: (s) => s.encode(),
  decode: (t) => GCounter.decode(t),
  value: (s) => s.value,
});

describe('GCounter', () => {
  it('count every increment once, whatever the merges', () => {
    let a = GCounter.empty().increment('a', 2).state;
    const b = GCounter.empty().increment('b', 3).state;
    a = a.merge(b).merge(b).increment('a', 1).state;
    expect(a.value).toBe(6);
    expect(a.merge(b).value).toBe(6);
  });

  it('a delta carries the new total, so redelivering it does not count twice', () => {
    const { state, delta } = GCounter.empty().increment('a', 4);
    expect(GCounter.empty().merge(delta).merge(delta).value).toBe(4);
    expect(state.merge(delta).value).toBe(4);
  });

  it('refuses non-integer and non-positive increments', () => {
    expect(() => GCounter.empty().increment('a', 0)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => GCounter.empty().increment('a', 1.5)).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
