import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { vvDominates, type VersionVector } from '../common/versionVector';
import { assertProperty } from '../test-support/fc';
import { collectableFrontier, isStable, stableFrontier } from './causalStability';
import { vvEqual, vvMin } from './versionVectors';

const vv = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 9 }));

describe('causal stability', () => {
  it('the stable frontier is the greatest vector every acknowledgement dominates', async () => {
    await assertProperty(
      fc.property(fc.array(vv, { minLength: 1, maxLength: 5 }), (acks) => {
        const f = stableFrontier(acks);
        for (const ack of acks) expect(vvDominates(ack, f)).toBe(true);
        for (const d of ['a', 'b', 'c']) {
          const raised = { ...f, [d]: (f[d] ?? 0) + 1 };
          expect(acks.every((ack) => vvDominates(ack, raised))).toBe(false);
        }
        expect(vvEqual(vvMin([...acks].reverse()), f)).toBe(true);
      }),
      300,
    );
  });

  it('no acknowledgements: nothing is stable', () => {
    expect(stableFrontier([])).toEqual({});
    expect(isStable({ a: 3 }, 'a', 3)).toBe(true);
    expect(isStable({ a: 3 }, 'a', 4)).toBe(false);
    expect(isStable({ a: 3 }, 'b', 1)).toBe(false);
  });

  it('a replica collects only what it has seen of every acknowledgement', () => {
    const acks = new Map<string, VersionVector>([
      ['a', { a: 5, b: 2 }],
      ['b', { a: 3, b: 4 }],
    ]);
    expect(collectableFrontier(acks, { a: 5, b: 4 })).toEqual({ a: 3, b: 2 });
    // b's acknowledgement includes b's write 4, which this replica has not integrated.
    expect(collectableFrontier(acks, { a: 5, b: 3 })).toEqual({});
    // A device that wrote (c:1) but is not in the acknowledgements.
    expect(collectableFrontier(acks, { a: 5, b: 4, c: 1 })).toEqual({});
    expect(collectableFrontier(new Map([...acks, ['c', {}]]), { a: 5, b: 4 })).toEqual({});
  });
});
