import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertProperty } from '../test-support/fc';
import { DotContext, type Dot } from './dotContext';

const dots = fc.array(fc.record({ device: fc.constantFrom('a', 'b', 'c'), counter: fc.integer({ min: 1, max: 12 }) }), { maxLength: 30 });
const canonical = (c: DotContext) => JSON.stringify(c.entries());

describe('DotContext', () => {
  it('holds exactly the dots added, however they arrive, compacted to a prefix where contiguous', async () => {
    await assertProperty(
      fc.property(dots, dots, (xs, ys) => {
        const a = DotContext.fromDots(xs);
        const b = DotContext.fromDots(ys);
        const u = a.union(b);
        const all = new Set([...xs, ...ys].map((d) => `${d.device}:${d.counter}`));
        for (const device of ['a', 'b', 'c']) {
          for (let n = 1; n <= 13; n++) expect(u.has({ device, counter: n })).toBe(all.has(`${device}:${n}`));
          const prefix = u.versionVector()[device] ?? 0;
          for (let n = 1; n <= prefix; n++) expect(all.has(`${device}:${n}`)).toBe(true);
          expect(all.has(`${device}:${prefix + 1}`)).toBe(false);
        }
        expect(canonical(u)).toBe(canonical(b.union(a)));
        expect(canonical(u)).toBe(canonical(DotContext.fromDots([...ys, ...xs].reverse())));
        expect(canonical(u.union(u))).toBe(canonical(u));
      }),
      300,
    );
  });

  it('max is the highest counter seen, cloud included', () => {
    const c = DotContext.fromDots([{ device: 'a', counter: 1 }, { device: 'a', counter: 5 }] satisfies Dot[]);
    expect(c.max('a')).toBe(5);
    expect(c.versionVector()).toEqual({ a: 1 });
    expect(c.max('z')).toBe(0);
    expect(c.withDots([2, 3, 4].map((counter) => ({ device: 'a', counter }))).versionVector()).toEqual({ a: 5 });
  });
});
