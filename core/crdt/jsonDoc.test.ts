import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hlcNow, hlcReceive, type Hlc } from '../common/hlc';
import { assertProperty } from '../test-support/fc';
import { collectableFrontier } from './causalStability';
import { JsonDoc } from './jsonDoc';
import { applyEdit, editArb, jsonDocModel } from './jsonDocModel';
import { clockShapes, crdtLaws, simulate, steps, syncAll } from './testLaws';

crdtLaws('JsonDoc', jsonDocModel, 150);

/** A device: its document, its physical clock (set by the test) and its HLC. */
class Device {
  doc = JsonDoc.empty();
  private hlc: Hlc = { wall: 0, counter: 0 };
  constructor(
    readonly id: string,
    public now: number,
  ) {}
  clock = (): Hlc => (this.hlc = hlcNow(this.hlc, this.now));
  edit(f: (v: Record<string, unknown>) => void): boolean {
    const v = structuredClone((this.doc.toValue() ?? {}) as Record<string, unknown>);
    f(v);
    const r = this.doc.update(v, this.id, this.clock);
    this.doc = r.doc;
    return r.changed;
  }
  receive(other: Device | JsonDoc): void {
    const doc = other instanceof JsonDoc ? other : other.doc;
    this.hlc = hlcReceive(this.hlc, doc.maxHlc(), this.now);
    this.doc = this.doc.merge(doc);
  }
  get value(): Record<string, unknown> {
    return this.doc.toValue() as Record<string, unknown>;
  }
}

const settings = {
  model: 'opus',
  permissions: { allow: ['Bash(npm test)', 'Read(~/.zshrc)', 'WebFetch'], deny: [] as string[] },
  env: { FOO: '1' },
  hooks: { PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'echo hi' }] }] },
  futureKey: { nested: { deeper: [1, 'two', { three: 3 }] } },
};

function twoDevices(): [Device, Device] {
  const a = new Device('aaaa', 1000);
  a.edit((v) => Object.assign(v, structuredClone(settings)));
  const b = new Device('bbbb', 1000);
  b.receive(a);
  a.now = b.now = 2000;
  return [a, b];
}

describe('JsonDoc scenarios', () => {
  it('two devices add different permissions while one removes a third: both adds survive, the removal holds', () => {
    const [a, b] = twoDevices();
    a.edit((v) => (v.permissions as { allow: string[] }).allow.push('Bash(git status)'));
    b.edit((v) => {
      const allow = (v.permissions as { allow: string[] }).allow;
      allow.splice(allow.indexOf('Read(~/.zshrc)'), 1);
      allow.push('Bash(ls)');
    });
    a.receive(b);
    b.receive(a);
    expect(a.value).toEqual(b.value);
    expect((a.value.permissions as { allow: string[] }).allow).toEqual(['Bash(npm test)', 'WebFetch', 'Bash(ls)', 'Bash(git status)']);
    expect(a.doc.conflicts()).toEqual([]);
  });

  it('a removed entry stays removed unless re-added concurrently', () => {
    const [a, b] = twoDevices();
    a.edit((v) => ((v.permissions as { allow: string[] }).allow = ['WebFetch']));
    const c = new Device('cccc', 1000);
    c.receive(b);
    expect(c.edit((v) => (v.permissions as { allow: string[] }).allow.includes('Read(~/.zshrc)'))).toBe(false);
    b.edit((v) => {
      const allow = (v.permissions as { allow: string[] }).allow;
      allow.splice(0, allow.length, 'Bash(npm test)', 'WebFetch'); // removes Read(~/.zshrc)…
      allow.push('Read(~/.zshrc)'); // …and adds it back in the same edit: no change to it
    });
    for (const d of [a, b, c]) for (const e of [a, b, c]) d.receive(e);
    expect((a.value.permissions as { allow: string[] }).allow).toEqual(['WebFetch']);

    // Now a concurrent re-add: removed on a, added again on b before b saw the removal.
    const [x, y] = twoDevices();
    x.edit((v) => ((v.permissions as { allow: string[] }).allow = []));
    y.edit((v) => {
      const allow = (v.permissions as { allow: string[] }).allow;
      allow.splice(allow.indexOf('WebFetch'), 1);
    });
    y.edit((v) => (v.permissions as { allow: string[] }).allow.push('WebFetch'));
    x.receive(y);
    y.receive(x);
    expect((x.value.permissions as { allow: string[] }).allow).toEqual(['WebFetch']);
    expect(y.value).toEqual(x.value);
  });

  it('two devices editing different keys both win', () => {
    const [a, b] = twoDevices();
    a.edit((v) => (v.model = 'sonnet'));
    b.edit((v) => ((v.env as Record<string, string>).BAR = '2'));
    a.receive(b);
    b.receive(a);
    expect(a.value.model).toBe('sonnet');
    expect(a.value.env).toEqual({ FOO: '1', BAR: '2' });
    expect(b.value).toEqual(a.value);
    expect(a.doc.conflicts()).toEqual([]);
  });

  it('the same key edited concurrently: one winner on both sides, and a reported conflict', () => {
    const [a, b] = twoDevices();
    a.edit((v) => (v.model = 'sonnet'));
    b.edit((v) => (v.model = 'haiku'));
    const aAlone = a.doc;
    a.receive(b);
    b.receive(aAlone);
    expect(a.value.model).toBe(b.value.model);
    // Same HLC wall on both: the larger device id breaks the tie.
    expect(a.value.model).toBe('haiku');
    const conflicts = a.doc.conflicts();
    expect(conflicts).toEqual(b.doc.conflicts());
    expect(conflicts).toEqual([
      {
        path: ['model'],
        winner: expect.objectContaining({ value: 'haiku', device: 'bbbb', deleted: false }),
        others: [expect.objectContaining({ value: 'sonnet', device: 'aaaa', deleted: false })],
      },
    ]);
    // A later edit of the key (or resolve) settles it everywhere.
    const r = a.doc.resolve(['model'], 'aaaa', a.clock);
    expect(r.changed).toBe(true);
    b.receive(r.delta);
    expect(b.doc.conflicts()).toEqual([]);
    expect(b.value.model).toBe('haiku');
  });

  it('an edit that follows another is not a conflict, even from a device with a slow clock', () => {
    const [a, b] = twoDevices();
    a.edit((v) => (v.model = 'sonnet'));
    b.receive(a);
    const slow = new Device('0000', 0); // wall clock far behind
    slow.receive(b);
    slow.edit((v) => (v.model = 'haiku'));
    a.receive(slow);
    expect(a.value.model).toBe('haiku');
    expect(a.doc.conflicts()).toEqual([]);
  });

  it('a device whose clock is 24 h fast does not win a later edit that follows its own', () => {
    const [a, b] = twoDevices();
    const fast = new Device('ffff', 2000 + 24 * 3_600_000);
    fast.receive(a);
    fast.edit((v) => (v.model = 'from the future'));
    b.receive(fast); // b's HLC moves a day ahead with it
    b.now += 60_000;
    b.edit((v) => (v.model = 'a minute later'));
    for (const d of [a, fast]) d.receive(b);
    expect(a.value.model).toBe('a minute later');
    expect(fast.value.model).toBe('a minute later');
    expect(a.doc.conflicts()).toEqual([]);
  });

  it('a concurrent set and remove: the later HLC wins, and it is reported', () => {
    const [a, b] = twoDevices();
    a.edit((v) => delete v.model);
    b.now += 5;
    b.edit((v) => (v.model = 'haiku')); // later HLC
    a.receive(b);
    b.receive(a);
    expect(a.value.model).toBe('haiku');
    expect(b.value).toEqual(a.value);
    expect(a.doc.conflicts()).toEqual([
      { path: ['model'], winner: expect.objectContaining({ value: 'haiku' }), others: [expect.objectContaining({ value: undefined, deleted: true, device: 'aaaa' })] },
    ]);

    const [c, d] = twoDevices();
    d.edit((v) => (v.model = 'haiku'));
    c.now += 5;
    c.edit((v) => delete v.model); // later HLC
    c.receive(d);
    d.receive(c);
    expect('model' in c.value).toBe(false);
    expect(d.value).toEqual(c.value);
  });

  it('keys and nested keys it does not know are kept', () => {
    const [a, b] = twoDevices();
    b.edit((v) => ((v.futureKey as { nested: { other?: boolean } }).nested.other = true));
    a.edit((v) => (v.model = 'sonnet'));
    a.receive(b);
    expect(a.value.futureKey).toEqual({ nested: { deeper: [1, 'two', { three: 3 }], other: true } });
    expect(a.value.hooks).toEqual(settings.hooks);
  });

  it('reformatting is not a change: whitespace and key order', () => {
    const [a] = twoDevices();
    const text = JSON.stringify(a.value, null, 2);
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(a.value).reverse()), null, 4)) as unknown;
    expect(a.doc.update(JSON.parse(text), 'aaaa', a.clock).changed).toBe(false);
    const r = a.doc.update(reordered, 'aaaa', a.clock);
    expect(r.changed).toBe(false);
    expect(r.doc).toBe(a.doc);
    expect(a.doc.update(JSON.parse(JSON.stringify({ ...a.value, env: { FOO: '1' } }).replace(/:/g, ' : ')), 'aaaa', a.clock).changed).toBe(false);
  });

  it('a key that changes type, and back, shows only the newest content', () => {
    const [a, b] = twoDevices();
    a.edit((v) => (v.env = 'none'));
    a.edit((v) => (v.env = { BAZ: '3' }));
    b.receive(a);
    expect(b.value.env).toEqual({ BAZ: '3' });
    a.edit((v) => (v.permissions = ['a', 'b']));
    a.edit((v) => (v.permissions = { allow: [] }));
    b.receive(a);
    expect(b.value.permissions).toEqual({ allow: [] });
  });

  it('concurrently created objects merge key by key (two devices set up the same file)', () => {
    const a = new Device('aaaa', 1000);
    const b = new Device('bbbb', 1000);
    a.edit((v) => Object.assign(v, { permissions: { allow: ['A'] }, model: 'x' }));
    b.edit((v) => Object.assign(v, { permissions: { allow: ['B'], deny: ['D'] } }));
    a.receive(b);
    b.receive(a);
    // Both wrote their list at the same HLC: the larger device id's order leads.
    expect(a.value).toEqual({ permissions: { allow: ['B', 'A'], deny: ['D'] }, model: 'x' });
    expect(b.value).toEqual(a.value);
    expect(a.doc.conflicts()).toEqual([]);
  });

  it('removing an object removes its subtree; a concurrent edit inside it does not bring it back', () => {
    const [a, b] = twoDevices();
    a.edit((v) => delete v.env);
    b.edit((v) => ((v.env as Record<string, string>).NEW = 'x'));
    a.receive(b);
    b.receive(a);
    expect('env' in a.value).toBe(false);
    expect(b.value).toEqual(a.value);
    // Setting it again later starts from an empty object: the hidden edit stays gone.
    a.edit((v) => (v.env = { ONLY: 'this' }));
    b.receive(a);
    expect(b.value.env).toEqual({ ONLY: 'this' });
  });

  it('string-set order: the latest writer’s order, then entries others added', () => {
    const [a, b] = twoDevices();
    a.edit((v) => (v.permissions as { allow: string[] }).allow.reverse());
    b.edit((v) => (v.permissions as { allow: string[] }).allow.push('New'));
    a.receive(b);
    b.receive(a);
    // b wrote later (HLC), so its order leads; a's reversal only orders what b did not list.
    expect((a.value.permissions as { allow: string[] }).allow).toEqual(['Bash(npm test)', 'Read(~/.zshrc)', 'WebFetch', 'New']);
    expect(b.value).toEqual(a.value);
  });

  it('string-set order: the example of docs/CRDT.md', () => {
    const a = new Device('aaaa', 1000);
    a.edit((v) => (v.list = ['a', 'b', 'c']));
    const b = new Device('bbbb', 1000);
    b.receive(a);
    a.now = 2000;
    b.now = 2001;
    a.edit((v) => (v.list as string[]).push('d'));
    b.edit((v) => (v.list = ['a', 'c', 'e']));
    a.receive(b);
    b.receive(a);
    expect(a.value.list).toEqual(['a', 'c', 'e', 'd']);
    expect(b.value).toEqual(a.value);
  });

  it('arrays that are not string sets are registers', () => {
    const [a, b] = twoDevices();
    a.edit((v) => (v.list = [1, 2]));
    b.receive(a);
    a.edit((v) => (v.list as number[]).push(3));
    b.edit((v) => (v.list as number[]).push(4));
    a.receive(b);
    b.receive(a);
    expect([[1, 2, 3], [1, 2, 4]]).toContainEqual(a.value.list);
    expect(b.value.list).toEqual(a.value.list);
    expect(a.doc.conflicts().map((c) => c.path)).toEqual([['list']]);
    // Duplicates make a string array a register too.
    a.edit((v) => (v.dups = ['x', 'x']));
    expect(a.value.dups).toEqual(['x', 'x']);
  });

  it('handles any JSON at the root, and "__proto__" as a plain key', () => {
    for (const v of [null, 3, 'text', [1, 'a'], ['a', 'b'], [], {}, JSON.parse('{"__proto__": {"x": 1}, "constructor": 2}')]) {
      const doc = JsonDoc.fromValue(v, 'dev', { wall: 1, counter: 0 });
      expect(doc.toValue()).toEqual(v);
      expect(JsonDoc.decode(doc.encode()).toValue()).toEqual(v);
    }
    const proto = JsonDoc.fromValue(JSON.parse('{"__proto__": {"x": 1}}'), 'dev', { wall: 1, counter: 0 }).toValue() as object;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(JsonDoc.empty().toValue()).toBeUndefined();
  });

  it('refuses values that are not JSON', () => {
    const clock = () => ({ wall: 1, counter: 0 });
    for (const v of [{ a: Number.NaN }, { d: new Date(0) }, [1, , 2], { f: () => 1 }, { big: 1n }]) {
      expect(() => JsonDoc.empty().update(v, 'dev', clock)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
    expect(() => JsonDoc.empty().update({}, 'dev', () => ({ wall: -1, counter: 0 }))).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('keys come back in the order they were written', () => {
    const doc = JsonDoc.fromValue({ z: 1, a: 2, m: { y: 1, b: 2 } }, 'dev', { wall: 1, counter: 0 });
    expect(JSON.stringify(JsonDoc.decode(doc.encode()).toValue())).toBe('{"z":1,"a":2,"m":{"y":1,"b":2}}');
  });

  it('update returns a delta that is small and has the update’s effect anywhere', () => {
    const [a, b] = twoDevices();
    const r = a.doc.update({ ...a.value, model: 'sonnet' }, 'aaaa', a.clock);
    expect(r.delta.encode().length).toBeLessThan(200);
    expect(b.doc.merge(r.delta).toValue()).toEqual(r.doc.toValue());
    expect(b.doc.merge(r.delta).merge(r.delta).equals(b.doc.merge(r.delta))).toBe(true);
  });

  it('random edits of one device are reproduced exactly by its deltas', async () => {
    await assertProperty(
      fc.property(fc.array(editArb, { maxLength: 30 }), (edits) => {
        const d = new Device('dev', 1);
        let replica = JsonDoc.empty();
        let expected: unknown = undefined;
        for (const e of edits) {
          expected = applyEdit(expected, e);
          const r = d.doc.update(expected, 'dev', d.clock);
          d.doc = r.doc;
          replica = replica.merge(r.delta);
          expect(d.doc.toValue()).toEqual(expected);
        }
        expect(replica.toValue()).toEqual(expected);
        expect(d.doc.conflicts()).toEqual([]);
      }),
      200,
    );
  });
});

describe('JsonDoc.edit (by path)', () => {
  const value = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('p', 'q'), fc.constant(undefined), fc.constant({ n: 1 }), fc.constant(['x', 'y']), fc.constant([1, 2]));
  const change = fc.tuple(fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }), value);

  /** The plain-value meaning of an edit: set (or delete) at path, making objects on the way. */
  function setAt(root: unknown, path: readonly string[], v: unknown): unknown {
    if (path.length === 0) return structuredClone(v);
    const obj = typeof root === 'object' && root !== null && !Array.isArray(root) ? { ...(root as Record<string, unknown>) } : {};
    const [k, ...rest] = path as [string, ...string[]];
    const child = setAt(obj[k], rest, v);
    if (child === undefined) delete obj[k];
    else obj[k] = child;
    return obj;
  }

  it('has the effect of update with the edited value, and its delta reproduces it', async () => {
    await assertProperty(
      fc.property(fc.array(editArb, { maxLength: 8 }), fc.array(change, { maxLength: 12 }), (history, changes) => {
        const d = new Device('dev', 1);
        let expected: unknown = undefined;
        for (const e of history) {
          expected = applyEdit(expected, e);
          d.doc = d.doc.update(expected, 'dev', d.clock).doc;
        }
        for (const [path, v] of changes) expected = setAt(expected, path, v);
        const r = d.doc.edit(changes, 'dev', d.clock);
        expect(r.doc.toValue()).toEqual(expected);
        expect(r.changed).toBe(!d.doc.equals(r.doc));
        expect(d.doc.merge(r.delta).equals(r.doc)).toBe(true);
        expect(r.doc.update(expected, 'dev', d.clock).changed).toBe(false);
      }),
      300,
    );
  });

  it('edits one key of a big document without touching the others', () => {
    const big = JsonDoc.fromValue(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])), 'dev', { wall: 1, counter: 0 });
    const r = big.edit([[['k5'], 'five'], [['k6'], undefined], [['new', 'nested'], true]], 'dev', () => ({ wall: 2, counter: 0 }));
    const v = r.doc.toValue() as Record<string, unknown>;
    expect(v.k5).toBe('five');
    expect('k6' in v).toBe(false);
    expect(v.new).toEqual({ nested: true });
    expect(Object.keys(v)).toHaveLength(1000);
    expect(r.delta.encode().length).toBeLessThan(200);
  });
});

describe('JsonDoc causal-stability GC', () => {
  it('after GC the encoding shrinks, and merges with replicas that did not collect still converge', () => {
    const [a, b] = twoDevices();
    a.edit((v) => {
      for (let i = 0; i < 100; i++) v[`temporary-${i}`] = { value: i };
    });
    b.receive(a);
    a.edit((v) => {
      for (let i = 0; i < 100; i++) delete v[`temporary-${i}`];
    });
    b.receive(a);
    a.receive(b);
    const acks = new Map([
      ['aaaa', a.doc.versionVector()],
      ['bbbb', b.doc.versionVector()],
    ]);
    const frontier = collectableFrontier(acks, a.doc.versionVector());
    expect(frontier).toEqual(a.doc.versionVector());
    const before = a.doc.encode().length;
    const collected = a.doc.gc(frontier);
    expect(collected.encode().length).toBeLessThan(before / 3);
    expect(collected.toValue()).toEqual(a.value);
    // b has not collected; the two still converge, in both directions, to the collected state.
    b.edit((v) => (v.model = 'after-gc'));
    const ab = collected.merge(b.doc);
    const ba = b.doc.merge(collected);
    expect(ab.equals(ba)).toBe(true);
    expect(ab.toValue()).toEqual({ ...a.value, model: 'after-gc' });
    expect(ab.encode().length).toBeLessThan(before / 3);
  });

  it('collects nothing while a device has not acknowledged, or an acknowledged write is missing here', () => {
    const [a, b] = twoDevices();
    a.edit((v) => delete v.model);
    b.receive(a);
    // b has acknowledged nothing yet (it might still write concurrently): {} stands for it.
    expect(collectableFrontier(new Map([['aaaa', a.doc.versionVector()], ['bbbb', {}]]), a.doc.versionVector())).toEqual({});
    // A device seen writing but missing from the acknowledgements blocks collection too.
    b.edit((v) => (v.y = 1));
    expect(collectableFrontier(new Map([['aaaa', b.doc.versionVector()]]), b.doc.versionVector())).toEqual({});
    b.edit((v) => (v.x = 1));
    const acks = new Map([
      ['aaaa', a.doc.versionVector()],
      ['bbbb', b.doc.versionVector()],
    ]);
    expect(collectableFrontier(acks, a.doc.versionVector())).toEqual({});
    a.receive(b);
    // The pointwise minimum: a's acknowledgement predates b's writes.
    expect(collectableFrontier(acks, a.doc.versionVector())).toEqual({ aaaa: acks.get('aaaa')!.aaaa });
  });

  it('a write made concurrently with a collected delete still competes by HLC', () => {
    // b sets model concurrently with a's later delete; a collects only once it has b's write.
    const [a, b] = twoDevices();
    b.edit((v) => (v.model = 'from-b'));
    a.now += 5;
    a.edit((v) => delete v.model);
    b.receive(a);
    const acks = new Map([
      ['aaaa', a.doc.versionVector()],
      ['bbbb', b.doc.versionVector()],
    ]);
    expect(collectableFrontier(acks, a.doc.versionVector())).toEqual({});
    a.receive(b);
    const collected = a.doc.gc(collectableFrontier(acks, a.doc.versionVector()));
    expect('model' in (collected.toValue() as object)).toBe(false);
    expect(collected.merge(b.doc).toValue()).toEqual(b.doc.toValue());
  });

  it('collects content hidden by a delete once stable, and the key can be set again', () => {
    const [a, b] = twoDevices();
    a.edit((v) => delete v.env);
    b.edit((v) => ((v.env as Record<string, string>).HIDDEN = 'x')); // concurrent: hidden under the delete
    a.receive(b);
    b.receive(a);
    expect(a.doc.encode()).toContain('HIDDEN');
    const acks = new Map([
      ['aaaa', a.doc.versionVector()],
      ['bbbb', b.doc.versionVector()],
    ]);
    const collected = a.doc.gc(collectableFrontier(acks, a.doc.versionVector()));
    expect(collected.encode()).not.toContain('HIDDEN');
    expect(collected.encode()).not.toContain('"env"');
    expect(collected.toValue()).toEqual(a.value);
    expect(collected.merge(b.doc).equals(b.doc.merge(collected))).toBe(true);
    const again = collected.update({ ...a.value, env: { NEW: '1' } }, 'aaaa', a.clock).doc;
    expect(again.merge(b.doc).toValue()).toEqual({ ...a.value, env: { NEW: '1' } });
  });

  it('GC with acknowledged frontiers never changes what replicas converge to', async () => {
    await assertProperty(
      fc.property(
        fc.integer({ min: 2, max: 4 }).chain((n) => fc.tuple(fc.constant(n), steps(editArb, n, 120, true))),
        clockShapes,
        ([n, sched], shapes) => {
          const withGc = syncAll(jsonDocModel, simulate(jsonDocModel, n, sched, shapes, true).states);
          const without = syncAll(jsonDocModel, simulate(jsonDocModel, n, sched, shapes, false).states);
          expect(new Set(withGc.map((d) => d.encode())).size).toBe(1);
          expect(jsonDocModel.value(withGc[0]!)).toEqual(jsonDocModel.value(without[0]!));
          expect(withGc[0]!.encode().length).toBeLessThanOrEqual(without[0]!.encode().length);
        },
      ),
      200,
    );
  });
});
