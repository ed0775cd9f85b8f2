import { describe, expect, it } from 'vitest';
import { batchOrder } from './batchOrder';
import type { OpSpec } from './types';

const spec = (item: string, ...deps: number[]): OpSpec => ({ kind: 'k', item, dependsOn: deps.map((batch) => ({ batch })) });

describe('batchOrder', () => {
  it('keeps array order where no batch dependency says otherwise', () => {
    expect(batchOrder([spec('a'), spec('b'), spec('c')])).toEqual([0, 1, 2]);
    expect(batchOrder([spec('a', 2), spec('b'), spec('c')])).toEqual([2, 0, 1]);
  });

  it('ignores dependencies on existing ops', () => {
    expect(batchOrder([{ kind: 'k', item: 'a', dependsOn: [17] }])).toEqual([0]);
  });

  it('handles a 100,000-op chain without recursion', () => {
    const specs = Array.from({ length: 100_000 }, (_, i) => (i === 99_999 ? spec(`${i}`) : spec(`${i}`, i + 1)));
    const order = batchOrder(specs);
    expect(order[0]).toBe(99_999);
    expect(order.at(-1)).toBe(0);
  });

  it('names the cycle', () => {
    expect(() => batchOrder([spec('a', 1), spec('b', 0)])).toThrow('batch op 0 (k a) → depends on 1 (k b) → depends on 0 (k a)');
  });
});
