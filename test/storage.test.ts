import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDevices, readTree, tempDir, treesEqual, type TestDevice } from '../core/test-support/vaultHarness';

// What the storage sees, and how little a sync moves: dedup, packing, change detection.

async function allRemoteBytes(remote: string): Promise<{ names: string[]; bytes: Buffer }> {
  const names: string[] = [];
  const parts: Buffer[] = [];
  async function walk(rel: string) {
    for (const e of await readdir(join(remote, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      names.push(p);
      if (e.isDirectory()) await walk(p);
      else parts.push(await readFile(join(remote, p)));
    }
  }
  await walk('');
  return { names, bytes: Buffer.concat(parts) };
}

describe('the remote holds no plaintext', () => {
  it('no content, file name or path fragment appears anywhere in the remote', async () => {
    const dir = await tempDir();
    const remote = join(dir.path, 'remote');
    const [A, B] = await makeDevices(dir.path, remote, 2);
    const MARK = 'Zebra7Marker';
    await mkdir(join(A!.root, `skills/${MARK}-skill`), { recursive: true });
    // Compressible content too: compression must not make the marker visible.
    await writeFile(join(A!.root, `skills/${MARK}-skill/SKILL.md`), `# ${MARK}\n`.repeat(500));
    await writeFile(join(A!.root, `${MARK}.md`), MARK);
    await writeFile(join(A!.root, 'settings.json'), JSON.stringify({ env: { TOKEN: MARK } }));
    await A!.sync();
    await B!.sync();
    const { names, bytes } = await allRemoteBytes(remote);
    const needles = [MARK, MARK.toLowerCase(), 'SKILL.md', 'settings.json', 'skills/', 'TOKEN'];
    for (const n of needles) {
      expect(names.some((x) => x.includes(n)), `object name contains ${n}`).toBe(false);
      expect(bytes.includes(Buffer.from(n)), `remote bytes contain ${n}`).toBe(false);
      expect(bytes.includes(Buffer.from(n, 'utf16le')), `remote bytes contain utf16 ${n}`).toBe(false);
    }
    // B's copy is intact, so the check above really looked at data that carries the marker.
    expect((await readTree(B!.root)).get(`${MARK}.md`)?.toString()).toBe(MARK);
    await dir.cleanup();
  });
});

describe('dedup and change detection', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let A: TestDevice;
  let B: TestDevice;
  beforeAll(async () => {
    dir = await tempDir();
    [A, B] = (await makeDevices(dir.path, join(dir.path, 'remote'), 2)) as [TestDevice, TestDevice];
  });
  afterAll(() => dir.cleanup());

  it('a 1-byte change in the middle of a 64 MiB file uploads < 2 MiB', async () => {
    const file = join(A.root, 'assets.bin');
    await writeFile(file, randomBytes(64 * 1024 * 1024));
    const first = await A.sync();
    expect(first.bytesUploaded).toBeGreaterThan(64 * 1024 * 1024);
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from([0x42]), 0, 1, 32 * 1024 * 1024 + 7);
    await fh.close();
    const second = await A.sync();
    console.log(`1-byte change in 64 MiB: uploaded ${second.bytesUploaded} bytes`);
    expect(second.pushed).toBe(1);
    expect(second.bytesUploaded).toBeLessThan(2 * 1024 * 1024);
    await B.sync();
    expect((await readFile(join(B.root, 'assets.bin'))).equals(await readFile(file))).toBe(true);
  });

  it('identical files on two paths are stored once', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    await writeFile(join(A.root, 'copy1.bin'), data);
    await writeFile(join(A.root, 'copy2.bin'), data);
    const r = await A.sync();
    expect(r.bytesUploaded).toBeLessThan(data.length * 1.1);
  });

  it('5,000 small files pack into few objects; a sync with no change uploads 0 bytes, fast', async () => {
    for (let d = 0; d < 50; d++) {
      await mkdir(join(A.root, `commands/group${d}`), { recursive: true });
      await Promise.all(Array.from({ length: 100 }, (_, i) => writeFile(join(A.root, `commands/group${d}/cmd${i}.md`), `# Command ${d}/${i}\n${randomBytes(200).toString('base64')}\n`)));
    }
    const first = await A.sync();
    console.log(`first sync of 5000 files: ${first.durationMs} ms`);
    expect(first.pushed).toBe(5000);
    const packs = (await readdir(join(dir.path, 'remote', 'data'), { recursive: true })).filter((n) => /[0-9a-f]{32}$/.test(String(n)));
    expect(packs.length).toBeLessThan(30);
    await new Promise((r) => setTimeout(r, 2100)); // leave the racy-stat window so the cache is trusted
    await A.sync();
    const idle = await A.sync();
    console.log(`no-change sync of ${5000 + 3} files: ${idle.durationMs} ms, ${idle.bytesUploaded} bytes up`);
    expect(idle.pushed).toBe(0);
    expect(idle.bytesUploaded).toBe(0);
    expect(idle.durationMs).toBeLessThan(1000);
    const pulled = await B.sync();
    console.log(`pull of 5000 files: ${pulled.durationMs} ms`);
    expect(treesEqual(await readTree(A.root), await readTree(B.root))).toBe(true);
  });
});
