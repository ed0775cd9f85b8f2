import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertProperty } from '../test-support/fc';
import { contains, union } from './causalContext';

describe('causal context (dotted version vectors)', () => {
  it('keeps a gap: seeing d:3 does not imply d:2', () => {
    const c = union({ vv: { a: 1 } }, { vv: {}, dots: ['a:3'] });
    expect(contains(c, 'a', 1)).toBe(true);
    expect(contains(c, 'a', 2)).toBe(false);
    expect(contains(c, 'a', 3)).toBe(true);
    expect(union(c, { vv: {}, dots: ['a:2'] })).toEqual({ vv: { a: 3 }, dots: [] });
  });

  it('property: union is the set union of the dots it stands for (commutative, associative, idempotent)', async () => {
    const dotSet = fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 8 })), { maxLength: 12, selector: ([d, n]) => `${d}:${n}` });
    const ctxOf = (ds: [string, number][]) => union({ vv: {}, dots: ds.map(([d, n]) => `${d}:${n}`) });
    const members = (c: ReturnType<typeof union>) => ['a', 'b', 'c'].flatMap((d) => [1, 2, 3, 4, 5, 6, 7, 8].filter((n) => contains(c, d, n)).map((n) => `${d}:${n}`));
    await assertProperty(
      fc.property(dotSet, dotSet, dotSet, (x, y, z) => {
        const [X, Y, Z] = [ctxOf(x), ctxOf(y), ctxOf(z)];
        expect(members(X).sort()).toEqual(x.map(([d, n]) => `${d}:${n}`).sort());
        expect(union(X, Y)).toEqual(union(Y, X));
        expect(union(union(X, Y), Z)).toEqual(union(X, union(Y, Z)));
        expect(union(X, X)).toEqual(X);
        expect(members(union(X, Y)).sort()).toEqual([...new Set([...members(X), ...members(Y)])].sort());
      }),
      300,
    );
  });
});
