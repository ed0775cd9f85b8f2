import { mkdir, readdir, rename, rm, writeFile, readFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTree, tempDir, makeDevices } from '../core/test-support/vaultHarness';

// Safety rails of the sync root: a missing, replaced or emptied root is an error, never a mass
// delete; odd names are reported and left alone; a file that changes while we read it is not
// recorded half-way.

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function twoDevices(files: Record<string, string>) {
  const dir = await tempDir();
  cleanup = dir.cleanup;
  const remote = join(dir.path, 'remote');
  const [A, B] = await makeDevices(dir.path, remote, 2);
  for (const [p, c] of Object.entries(files)) {
    await mkdir(join(A!.root, p, '..'), { recursive: true });
    await writeFile(join(A!.root, p), c);
  }
  await A!.sync();
  await B!.sync();
  return { A: A!, B: B!, remote, dir: dir.path };
}

const tenFiles = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`commands/c${i}.md`, `command ${i}`]));

describe('sync root safety', () => {
  it('a missing root is ROOT_MISSING and nothing is deleted anywhere', async () => {
    const { A, B } = await twoDevices(tenFiles);
    await rename(A.root, A.root + '-unmounted');
    await expect(A.sync()).rejects.toMatchObject({ code: 'ROOT_MISSING' });
    await B.sync();
    expect((await readTree(B.root)).size).toBe(10);
  });

  it('an emptied root (marker says there were files) is ROOT_EMPTIED', async () => {
    const { A, B } = await twoDevices(tenFiles);
    await rm(join(A.root, 'commands'), { recursive: true });
    await expect(A.sync()).rejects.toMatchObject({ code: 'ROOT_EMPTIED' });
    await B.sync();
    expect((await readTree(B.root)).size).toBe(10);
  });

  it('a root that lost its marker (replaced folder) is ROOT_MARKER_MISMATCH', async () => {
    const { A } = await twoDevices(tenFiles);
    await rm(join(A.root, '.ccsync-root'));
    await expect(A.sync()).rejects.toMatchObject({ code: 'ROOT_MARKER_MISMATCH' });
  });

  it('deleting more than half the files stops with a preview; --allow-mass-delete goes ahead', async () => {
    const { A, B } = await twoDevices(tenFiles);
    for (let i = 0; i < 8; i++) await rm(join(A.root, `commands/c${i}.md`));
    const err = await A.sync().catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'MASS_DELETE' });
    expect((err as { message: string }).message).toMatch(/would delete 8 of 10 files[\s\S]*commands\/c0\.md/);
    await B.sync();
    expect((await readTree(B.root)).size).toBe(10);
    await A.sync({ allowMassDelete: true });
    // The guard holds on the receiving side too.
    await expect(B.sync()).rejects.toMatchObject({ code: 'MASS_DELETE' });
    expect((await readTree(B.root)).size).toBe(10);
    await B.sync({ allowMassDelete: true });
    expect([...(await readTree(B.root)).keys()].sort()).toEqual(['commands/c8.md', 'commands/c9.md']);
  });

  it('a few deletions sync normally', async () => {
    const { A, B } = await twoDevices(tenFiles);
    await rm(join(A.root, 'commands/c3.md'));
    await A.sync();
    await B.sync();
    expect((await readTree(B.root)).has('commands/c3.md')).toBe(false);
    expect((await readTree(B.root)).size).toBe(9);
  });

  it('names that are not valid UTF-8 are reported and left alone', async () => {
    const { A, B } = await twoDevices({ 'a.md': 'a' });
    const bad = Buffer.concat([Buffer.from(join(A.root, 'bad-')), Buffer.from([0xff, 0xfe]), Buffer.from('.md')]);
    await writeFile(bad, 'x');
    const r = await A.sync();
    expect(r.problems).toEqual([expect.objectContaining({ message: expect.stringMatching(/not valid UTF-8/) })]);
    await B.sync();
    expect([...(await readTree(B.root)).keys()]).toEqual(['a.md']);
    expect((await readdir(A.root, { encoding: 'buffer' })).some((n) => n.includes(0xff))).toBe(true);
  });

  it('names that collide by case or by Unicode normalization are reported, not synced, not deleted', async () => {
    const { A, B } = await twoDevices({ 'a.md': 'a' });
    await writeFile(join(A.root, 'Readme.md'), '1');
    await writeFile(join(A.root, 'README.md'), '2');
    await writeFile(join(A.root, 'caf\u00e9.md'), 'nfc');
    await writeFile(join(A.root, 'cafe\u0301.md'), 'nfd');
    const r = await A.sync();
    expect(r.problems.map((p) => p.message).every((m) => /collides/.test(m))).toBe(true);
    expect(r.problems).toHaveLength(4);
    await B.sync();
    expect([...(await readTree(B.root)).keys()]).toEqual(['a.md']);
    expect((await readdir(A.root)).length).toBe(6); // marker + a.md + 4 colliding files, all still there
  });

  it('a non-NFC name that collides with nothing syncs under its NFC name', async () => {
    const { A, B } = await twoDevices({ 'a.md': 'a' });
    await writeFile(join(A.root, 'nai\u0308ve.md'), 'nfd name');
    await A.sync();
    await B.sync();
    expect((await readTree(B.root)).get('na\u00efve.md')?.toString()).toBe('nfd name');
    // A second sync on A sees no change (no ping-pong between forms).
    expect((await A.sync()).pushed).toBe(0);
  });

  it('symlinks are reported and never followed', async () => {
    const { A, B, dir } = await twoDevices({ 'a.md': 'a' });
    await writeFile(join(dir, 'outside.txt'), 'secret outside root');
    const { symlink } = await import('node:fs/promises');
    await symlink(join(dir, 'outside.txt'), join(A.root, 'link.md'));
    const r = await A.sync();
    expect(r.problems).toEqual([{ path: 'link.md', message: 'symbolic links are not synced' }]);
    await B.sync();
    expect((await readTree(B.root)).has('link.md')).toBe(false);
  });

  it('a file that changes while it is read is not recorded; the next sync takes the final content', async () => {
    const { A, B } = await twoDevices({ 'a.md': 'a' });
    const big = join(A.root, 'big.bin');
    await writeFile(big, Buffer.alloc(24 * 1024 * 1024, 1));
    const s = await A.session();
    const { runSync } = await import('../core/engine/sync');
    let writes = 0;
    const p = runSync(s);
    // Keep appending while the sync reads the file.
    const timer = setInterval(() => {
      writes++;
      void appendFile(big, 'more');
    }, 1);
    const r = await p.finally(() => clearInterval(timer));
    s.close();
    expect(writes).toBeGreaterThan(0);
    expect(r.deferred).toContain('big.bin');
    await B.sync();
    expect((await readTree(B.root)).has('big.bin')).toBe(false);
    await new Promise((res) => setTimeout(res, 50));
    await A.sync();
    await B.sync();
    expect((await readFile(join(B.root, 'big.bin'))).equals(await readFile(big))).toBe(true);
  });

  it('a local edit made after the scan but before the commit wins over the remote version', async () => {
    const { A, B } = await twoDevices({ 'a.md': 'one' });
    await writeFile(join(A.root, 'a.md'), 'two');
    await A.sync();
    const { materialize } = await import('../core/engine/materialize');
    const { ChunkReader } = await import('../core/engine/chunkReader');
    const { newStats } = await import('../core/engine/transferStats');
    const sa = await A.session();
    const sb = await B.session();
    try {
      const remoteVersion = sa.db.headsOf('a.md')[0]!;
      const row = sb.db.getFile('a.md'); // what B's scan saw
      await new Promise((r) => setTimeout(r, 20));
      await writeFile(join(B.root, 'a.md'), 'user typed this meanwhile');
      const r = await materialize(B.root, sa.db, new ChunkReader(sa.remote, sa.keys, newStats()), [{ version: remoteVersion, row }]);
      expect(r.skipped).toEqual(['a.md']);
      expect(r.rows).toEqual([]);
      expect(await readFile(join(B.root, 'a.md'), 'utf8')).toBe('user typed this meanwhile');
      expect((await readdir(B.root)).filter((n) => n.startsWith('.ccsync-tmp-'))).toEqual([]);
    } finally {
      sa.close();
      sb.close();
    }
    // The next sync pushes the user's edit as a version concurrent with A's: both are kept.
    const rb = await B.sync();
    expect(rb.conflicts).toBe(1);
  });
});
