import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrSet } from './orSet';
import { crdtLaws } from './testLaws';

type Op = { add: boolean; element: string };

crdtLaws<OrSet, Op>('OrSet', {
  empty: OrSet.empty(),
  op: fc.record({ add: fc.boolean(), element: fc.constantFrom('x', 'y', 'z', 'w') }),
  apply: (s, op, device) => (op.add ? s.add(op.element, device) : s.remove(op.element)),
  merge: (a, b) => a.merge(b),
  encode: (s) => s.encode(),
  decode: (t) => OrSet.decode(t),
  value: (s) => s.values(),
});

describe('OrSet', () => {
  it('a concurrent add survives a remove (add wins)', () => {
    const base = OrSet.empty().add('x', 'a').state;
    const removed = base.remove('x').state;
    const readded = base.add('x', 'b').state;
    expect(removed.merge(readded).has('x')).toBe(true);
    expect(readded.merge(removed).has('x')).toBe(true);
  });

  it('a remove removes exactly the observed tags, and stays removed', () => {
    const a = OrSet.empty().add('x', 'a').state;
    const b = OrSet.empty().merge(a).remove('x').state;
    expect(a.merge(b).has('x')).toBe(false);
    // A stale copy of the add arriving again does not bring it back.
    expect(b.merge(a).merge(a).has('x')).toBe(false);
  });

  it('a remove delivered before its add still wins over that add', () => {
    const { state: a, delta: add } = OrSet.empty().add('x', 'a');
    const { delta: remove } = a.remove('x');
    const c = OrSet.empty().merge(remove).merge(add);
    expect(c.has('x')).toBe(false);
    expect(c.merge(a).values()).toEqual([]);
  });

  it('keeps no tombstones: removing shrinks the encoding at once', () => {
    let s = OrSet.empty();
    for (let i = 0; i < 200; i++) s = s.add(`element-${i}`, 'a').state;
    const full = s.encode().length;
    for (let i = 0; i < 150; i++) s = s.remove(`element-${i}`).state;
    expect(s.size).toBe(50);
    expect(s.encode().length).toBeLessThan(full / 3);
    expect(s.versionVector()).toEqual({ a: 200 });
  });

  it('an element re-added on one device carries one tag', () => {
    let s = OrSet.empty().add('x', 'a').state;
    s = s.add('x', 'a').state.add('x', 'a').state;
    expect(s.tags('x')).toEqual([{ device: 'a', counter: 3 }]);
  });
});
