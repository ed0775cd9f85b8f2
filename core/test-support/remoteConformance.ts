import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCcsError, type ErrorCode } from '../common/errors';
import type { ObjectInfo, Remote } from '../remotes/remote';

/**
 * The one behaviour suite every remote runs (restic's backend/test idea): a remote passes it or
 * is not a remote. `make` must return a ready store (create() already done) with no objects;
 * `cleanup` removes whatever it made.
 */
export function remoteConformance(
  name: string,
  make: () => Promise<{ remote: Remote; cleanup: () => Promise<void> }>,
): void {
  describe(`remote conformance: ${name}`, () => {
    let remote: Remote;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      const made = await make();
      remote = made.remote;
      cleanup = made.cleanup;
    });

    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    describe('store', () => {
      it('check() passes on a ready store', async () => {
        await expect(remote.check()).resolves.toBeUndefined();
      });

      it('create() on an existing store keeps its objects', async () => {
        await remote.put('config', bytes('x'));
        await remote.create();
        await remote.check();
        expect(await remote.get('config')).toEqual(bytes('x'));
      });

      it('has a non-empty description', () => {
        expect(remote.description.length).toBeGreaterThan(0);
      });
    });

    describe('put / get round trips', () => {
      it.each([
        ['empty', Buffer.alloc(0)],
        ['1 byte', Buffer.from([0xff])],
        ['5 MiB', randomBytes(5 * 1024 * 1024)],
      ])('%s object', async (_label, data) => {
        await remote.put('data/ab/object', data);
        const back = await remote.get('data/ab/object');
        expect(back.length).toBe(data.length);
        expect(sha(back)).toBe(sha(data));
        expect(await remote.stat('data/ab/object')).toEqual({ name: 'data/ab/object', size: data.length });
      });

      it('accepts a plain Uint8Array and returns a Buffer', async () => {
        await remote.put('u8', new Uint8Array([1, 2, 3]));
        const back = await remote.get('u8');
        expect(Buffer.isBuffer(back)).toBe(true);
        expect([...back]).toEqual([1, 2, 3]);
      });

      it('stores a view of a larger buffer as just the view', async () => {
        const big = Buffer.from('0123456789');
        await remote.put('view', big.subarray(3, 6));
        expect((await remote.get('view')).toString()).toBe('345');
      });

      it('get of a missing object is OBJECT_MISSING', async () => {
        await expectCode(remote.get('data/aa/missing'), 'OBJECT_MISSING');
        await remote.put('present', bytes('p'));
        await expectCode(remote.get('absent'), 'OBJECT_MISSING');
      });

      it('the OBJECT_MISSING message names the object', async () => {
        const err = await remote.get('keys/nope').catch((e: unknown) => e);
        expect(String((err as Error).message)).toContain('keys/nope');
      });

      it('a name that is only a prefix of other objects is missing', async () => {
        await remote.put('dir/leaf', bytes('x'));
        await expectCode(remote.get('dir'), 'OBJECT_MISSING');
        expect(await remote.stat('dir')).toBeNull();
      });
    });

    describe('getRange', () => {
      const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));

      beforeEach(async () => {
        await remote.put('packs/p1', data);
      });

      it.each([
        ['start', 0, 10],
        ['middle', 45, 10],
        ['end', 90, 10],
        ['whole', 0, 100],
        ['empty at start', 0, 0],
        ['empty at end', 100, 0],
      ])('%s', async (_label, offset, length) => {
        const got = await remote.getRange('packs/p1', offset, length);
        expect(got).toEqual(data.subarray(offset, offset + length));
      });

      it('a range crossing the end is OBJECT_CORRUPT', async () => {
        await expectCode(remote.getRange('packs/p1', 95, 10), 'OBJECT_CORRUPT');
        await expectCode(remote.getRange('packs/p1', 0, 101), 'OBJECT_CORRUPT');
      });

      it('a range starting past the end is OBJECT_CORRUPT', async () => {
        await expectCode(remote.getRange('packs/p1', 100, 1), 'OBJECT_CORRUPT');
        await expectCode(remote.getRange('packs/p1', 101, 0), 'OBJECT_CORRUPT');
      });

      it('a range of a missing object is OBJECT_MISSING', async () => {
        await expectCode(remote.getRange('packs/p2', 0, 1), 'OBJECT_MISSING');
        await expectCode(remote.getRange('packs/p2', 0, 0), 'OBJECT_MISSING');
      });

      it('rejects negative or fractional ranges', async () => {
        await expect(remote.getRange('packs/p1', -1, 1)).rejects.toThrow();
        await expect(remote.getRange('packs/p1', 0, -1)).rejects.toThrow();
        await expect(remote.getRange('packs/p1', 0.5, 1)).rejects.toThrow();
      });

      it('ranges of a 5 MiB object match the bytes', async () => {
        const big = randomBytes(5 * 1024 * 1024);
        await remote.put('packs/big', big);
        for (const [o, l] of [
          [0, 1],
          [1024 * 1024 - 3, 70_000],
          [big.length - 1, 1],
          [123_457, 2 * 1024 * 1024],
        ] as const) {
          expect(sha(await remote.getRange('packs/big', o, l))).toBe(sha(big.subarray(o, o + l)));
        }
      });
    });

    describe('stat', () => {
      it('is null for a missing object and the size for a present one', async () => {
        expect(await remote.stat('snapshots/s1')).toBeNull();
        await remote.put('snapshots/s1', bytes('hello'));
        expect(await remote.stat('snapshots/s1')).toEqual({ name: 'snapshots/s1', size: 5 });
        await remote.put('snapshots/empty', Buffer.alloc(0));
        expect(await remote.stat('snapshots/empty')).toEqual({ name: 'snapshots/empty', size: 0 });
      });
    });

    describe('list', () => {
      it('an empty store lists nothing, for any prefix', async () => {
        expect(await remote.list('')).toEqual([]);
        expect(await remote.list('data/')).toEqual([]);
        expect(await remote.list('data/a')).toEqual([]);
      });

      it('lists 1,200 objects under nested and partial-segment prefixes', async () => {
        const objects = new Map<string, number>();
        for (let i = 0; i < 1000; i++) {
          const id = sha(Buffer.from(`pack ${i}`));
          objects.set(`data/${id.slice(0, 2)}/${id}`, i % 7);
        }
        for (let i = 0; i < 150; i++) objects.set(`index/${sha(Buffer.from(`index ${i}`))}`, 3);
        for (let i = 0; i < 40; i++) objects.set(`indexes/i${i}`, 1);
        for (let i = 0; i < 9; i++) objects.set(`snapshots/2024/0${i + 1}/s${i}`, 2);
        objects.set('config', 4);
        expect(objects.size).toBe(1200);

        await inParallel([...objects], 32, ([n, size]) => remote.put(n, Buffer.alloc(size, 7)));

        const expectList = async (prefix: string) => {
          const want = [...objects].filter(([n]) => n.startsWith(prefix)).map(([n, size]) => ({ name: n, size }));
          const got = await remote.list(prefix);
          expect(sortInfos(got)).toEqual(sortInfos(want));
          return want.length;
        };

        expect(await expectList('')).toBe(1200);
        expect(await expectList('data/')).toBe(1000);
        expect(await expectList('data')).toBe(1000);
        expect(await expectList('d')).toBe(1000);
        // Partial segment at the directory level: data/0x/, and only those.
        const n0 = await expectList('data/0');
        expect(n0).toBeGreaterThan(0);
        expect(n0).toBeLessThan(1000);
        const firstData = [...objects.keys()].find((n) => n.startsWith('data/'))!;
        const dir = firstData.slice(0, 'data/xx/'.length);
        expect(await expectList(dir)).toBeGreaterThan(0);
        // Partial segment at the file level.
        expect(await expectList(firstData.slice(0, dir.length + 3))).toBeGreaterThan(0);
        // The full name of an object is a prefix of itself.
        expect(await expectList(firstData)).toBe(1);
        // 'index' matches 'index/…' and 'indexes/…'; 'index/' only the former.
        expect(await expectList('index')).toBe(190);
        expect(await expectList('index/')).toBe(150);
        expect(await expectList('indexes/')).toBe(40);
        expect(await expectList('snapshots/2024/0')).toBe(9);
        expect(await expectList('snapshots/2024/03/')).toBe(1);
        expect(await expectList('config')).toBe(1);
        expect(await expectList('conf')).toBe(1);
        expect(await expectList('nothing/')).toBe(0);
        expect(await expectList('data/zz')).toBe(0);
        expect(await expectList('config/')).toBe(0);
      });

      it('returns fresh results after deletes and overwrites', async () => {
        await remote.put('locks/a', bytes('1'));
        await remote.put('locks/b', bytes('22'));
        await remote.delete('locks/a');
        await remote.put('locks/b', bytes('333'));
        expect(await remote.list('locks/')).toEqual([{ name: 'locks/b', size: 3 }]);
      });
    });

    describe('put semantics', () => {
      it('putting the same bytes twice succeeds (idempotent)', async () => {
        await remote.put('keys/k1', bytes('key'));
        await remote.put('keys/k1', bytes('key'));
        expect(await remote.get('keys/k1')).toEqual(bytes('key'));
        expect(await remote.list('keys/')).toEqual([{ name: 'keys/k1', size: 3 }]);
      });

      it('a second put replaces the object', async () => {
        await remote.put('index/i', bytes('old bytes'));
        await remote.put('index/i', bytes('new'));
        expect(await remote.get('index/i')).toEqual(bytes('new'));
        expect(await remote.stat('index/i')).toEqual({ name: 'index/i', size: 3 });
      });

      it('readers see the old or the new object during overwrites, never a mix or a prefix', async () => {
        const size = 1024 * 1024;
        const versions = [0xaa, 0xbb, 0xcc, 0xdd].map((b) => Buffer.alloc(size, b));
        const valid = new Set(versions.map(sha));
        await remote.put('index/live', versions[0]!);
        let writing = true;
        const writer = (async () => {
          for (let round = 0; round < 6; round++) {
            for (const v of versions) await remote.put('index/live', v);
          }
          writing = false;
        })();
        let reads = 0;
        while (writing || reads < 3) {
          const got = await remote.get('index/live');
          expect(got.length).toBe(size);
          expect(valid.has(sha(got))).toBe(true);
          reads++;
        }
        await writer;
      });

      it('createOnly on a new name creates it', async () => {
        await remote.put('log/0001', bytes('entry'), { createOnly: true });
        expect(await remote.get('log/0001')).toEqual(bytes('entry'));
      });

      it('createOnly creates missing levels above the object', async () => {
        await remote.put('log/2024/06/30/0001', bytes('deep'), { createOnly: true });
        expect(await remote.get('log/2024/06/30/0001')).toEqual(bytes('deep'));
        await expectCode(remote.put('log/2024/06/30/0001', bytes('again'), { createOnly: true }), 'ALREADY_EXISTS');
      });

      it('createOnly on an existing name is ALREADY_EXISTS and keeps the old bytes', async () => {
        await remote.put('log/0001', bytes('first'));
        await expectCode(remote.put('log/0001', bytes('second'), { createOnly: true }), 'ALREADY_EXISTS');
        await expectCode(remote.put('log/0001', bytes('first'), { createOnly: true }), 'ALREADY_EXISTS');
        expect(await remote.get('log/0001')).toEqual(bytes('first'));
        expect(await remote.list('log/')).toEqual([{ name: 'log/0001', size: 5 }]);
      });

      it('20 concurrent createOnly puts of one name: exactly one wins', async () => {
        const contenders = Array.from({ length: 20 }, (_, i) => bytes(`writer ${i} `.repeat(100 + i)));
        const results = await Promise.allSettled(
          contenders.map((d) => remote.put('log/race', d, { createOnly: true })),
        );
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const r of results) {
          if (r.status === 'rejected') expect(codeOf(r.reason)).toBe('ALREADY_EXISTS');
        }
        expect(await remote.get('log/race')).toEqual(contenders[winners[0]!]);
        expect(await remote.list('log/')).toEqual([{ name: 'log/race', size: contenders[winners[0]!]!.length }]);
      });

      it('concurrent puts of different names all land', async () => {
        const names = Array.from({ length: 60 }, (_, i) => `data/${(i % 3).toString().padStart(2, '0')}/obj-${i}`);
        await Promise.all(names.map((n) => remote.put(n, bytes(n))));
        expect(sortInfos(await remote.list('data/'))).toEqual(sortInfos(names.map((n) => ({ name: n, size: n.length }))));
        for (const n of names) expect(await remote.get(n)).toEqual(bytes(n));
      });

      it('does not keep a reference to the caller’s buffer', async () => {
        const data = Buffer.from('original');
        await remote.put('copy/in', data);
        data.fill(0);
        expect(await remote.get('copy/in')).toEqual(bytes('original'));
      });
    });

    describe('delete', () => {
      it('deleting a missing object succeeds', async () => {
        await expect(remote.delete('locks/none')).resolves.toBeUndefined();
        await expect(remote.delete('deep/never/created/x')).resolves.toBeUndefined();
      });

      it('after delete the object is gone everywhere', async () => {
        await remote.put('locks/l1', bytes('lock'));
        await remote.put('locks/l2', bytes('lock'));
        await remote.delete('locks/l1');
        await expectCode(remote.get('locks/l1'), 'OBJECT_MISSING');
        await expectCode(remote.getRange('locks/l1', 0, 1), 'OBJECT_MISSING');
        expect(await remote.stat('locks/l1')).toBeNull();
        expect(await remote.list('locks/')).toEqual([{ name: 'locks/l2', size: 4 }]);
        await remote.delete('locks/l1');
      });

      it('deleting a name that is only a prefix of other objects deletes nothing', async () => {
        await remote.put('dir/leaf', bytes('x'));
        await remote.put('dir/sub/leaf', bytes('y'));
        await remote.delete('dir');
        await remote.delete('dir/sub');
        expect(sortInfos(await remote.list('dir/'))).toEqual([
          { name: 'dir/leaf', size: 1 },
          { name: 'dir/sub/leaf', size: 1 },
        ]);
      });

      it('a deleted name can be created again, also with createOnly', async () => {
        await remote.put('log/x', bytes('a'), { createOnly: true });
        await remote.delete('log/x');
        await remote.put('log/x', bytes('b'), { createOnly: true });
        expect(await remote.get('log/x')).toEqual(bytes('b'));
      });
    });

    describe('names', () => {
      const good = [
        'a.b',
        'a-b_c',
        '0',
        '_',
        '-lead',
        '.hidden',
        'a..b',
        'x/y.z/w-v_u',
        'v1.2.3/file.tar.gz',
        'd1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/leaf',
      ];

      it('stores names with dots, dashes, underscores and deep nesting', async () => {
        for (const n of good) await remote.put(n, bytes(n));
        for (const n of good) {
          expect(await remote.get(n)).toEqual(bytes(n));
          expect(await remote.stat(n)).toEqual({ name: n, size: n.length });
        }
        expect(sortInfos(await remote.list(''))).toEqual(sortInfos(good.map((n) => ({ name: n, size: n.length }))));
        expect(await remote.list('d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/')).toEqual([
          { name: 'd1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/leaf', size: good[9]!.length },
        ]);
        for (const n of good) await remote.delete(n);
        expect(await remote.list('')).toEqual([]);
      });

      const bad = ['../x', '/abs', 'A', 'a//b', '', 'a/', './a', 'a/./b', 'a/../b', '..', '.', 'a\\b', 'a b', 'é', 'a\0b'];

      it.each(bad.map((n) => [JSON.stringify(n), n]))('rejects %s before any I/O', async (_label, n) => {
        const attempts: Array<[string, () => Promise<unknown>]> = [
          ['put', () => remote.put(n, bytes('x'))],
          ['put createOnly', () => remote.put(n, bytes('x'), { createOnly: true })],
          ['get', () => remote.get(n)],
          ['getRange', () => remote.getRange(n, 0, 0)],
          ['stat', () => remote.stat(n)],
          ['delete', () => remote.delete(n)],
        ];
        for (const [op, attempt] of attempts) {
          const err = await attempt().then(
            () => undefined,
            (e: unknown) => e,
          );
          // Not a storage error: the name never reached the store.
          expect(err, op).toBeInstanceOf(Error);
          expect(isCcsError(err), `${op} must reject the name itself, not report ${codeOf(err)}`).toBe(false);
          expect((err as Error).message, op).toMatch(/invalid object name/);
        }
        expect(await remote.list('')).toEqual([]);
      });

      it.each(['../', '/x', 'A', 'a//', '../../etc/p', './', 'a b/'])(
        'list rejects the prefix %j before any I/O',
        async (prefix) => {
          const err = await remote.list(prefix).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(Error);
          expect(isCcsError(err)).toBe(false);
        },
      );
    });

    describe('returned data is a copy', () => {
      it('mutating what get / getRange / list return does not change the store', async () => {
        await remote.put('copy/out', bytes('stable'));
        const a = await remote.get('copy/out');
        a.fill(0x21);
        expect(await remote.get('copy/out')).toEqual(bytes('stable'));
        const r = await remote.getRange('copy/out', 1, 3);
        r.fill(0x21);
        expect(await remote.getRange('copy/out', 0, 6)).toEqual(bytes('stable'));
        const listed = await remote.list('copy/');
        listed[0]!.size = 999;
        listed.pop();
        expect(await remote.list('copy/')).toEqual([{ name: 'copy/out', size: 6 }]);
        const st = await remote.stat('copy/out');
        st!.size = 1;
        expect(await remote.stat('copy/out')).toEqual({ name: 'copy/out', size: 6 });
      });
    });
  });
}

function bytes(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function sortInfos(infos: ObjectInfo[]): ObjectInfo[] {
  return [...infos].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function codeOf(e: unknown): string {
  return isCcsError(e) ? e.code : `non-CcsError ${String(e)}`;
}

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a CcsError ${code}`).toBeDefined();
  expect(codeOf(err)).toBe(code);
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
