import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PnCounter } from './pnCounter';
import { crdtLaws, expectCode } from './testLaws';

crdtLaws('PnCounter', {
  empty: PnCounter.empty(),
  op: fc.integer({ min: -5, max: 5 }),
  apply: (s, by, device) => s.add(device, by),
  merge: (a, b) => a.merge(b),
  encode: (s) => s.encode(),
  decode: (t) => PnCounter.decode(t),
  value: (s) => s.value,
});

describe('PnCounter', () => {
  it('goes down and up, and counts each device once', () => {
    let c = PnCounter.empty().add('a', 5).state;
    c = c.add('b', -7).state.merge(c).merge(c);
    expect(c.value).toBe(-2);
    expect(c.add('a', 0).state).toBe(c);
  });

  it('a delta carries only the half that changed', () => {
    const { delta } = PnCounter.empty().add('a', 5).state.add('a', -2);
    expect(delta.encode()).toBe('{"t":"pn-counter","v":1,"p":{},"n":{"a":2}}');
  });

  it('refuses non-integer steps', () => {
    expectCode(() => PnCounter.empty().add('a', Number.NaN), 'USAGE');
    expectCode(() => PnCounter.empty().add('a', 0.5), 'USAGE');
  });
});
