import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDevices, readTree, tempDir } from '../core/test-support/vaultHarness';
import { hashFile } from '../core/engine/localChanges';

// Local configuration: ignore rules, and damaged local files that must give a clear error.

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function pair() {
  const dir = await tempDir();
  cleanup = dir.cleanup;
  const [A, B] = await makeDevices(dir.path, join(dir.path, 'remote'), 2);
  return { A: A!, B: B!, dir: dir.path };
}

describe('ignore rules', () => {
  it('the default list and .ccsyncignore keep files local; .ccsyncignore itself syncs', async () => {
    const { A, B } = await pair();
    for (const p of ['projects/p/t.jsonl', 'todos/t.json', 'shell-snapshots/s', 'statsig/x', '.credentials.json', 'notes/secret.local.md', 'notes/keep.md', 'commands/x.md.swp']) {
      await mkdir(join(A.root, p, '..'), { recursive: true });
      await writeFile(join(A.root, p), p);
    }
    await writeFile(join(A.root, '.ccsyncignore'), '# machine-local notes\n*.local.md\n');
    await A.sync();
    await B.sync();
    expect([...(await readTree(B.root)).keys()].sort()).toEqual(['.ccsyncignore', 'notes/keep.md']);
    // B honours the synced rules for its own files too.
    await writeFile(join(B.root, 'notes/b.local.md'), 'b only');
    expect((await B.sync()).pushed).toBe(0);
  });
});

describe('damaged local configuration', () => {
  it('a malformed device.json is CONFIG_INVALID naming the file', async () => {
    const { A } = await pair();
    await writeFile(join(A.home, 'device.json'), '{ "format": 1, "deviceId": ');
    await expect(A.session()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/device\.json is not valid JSON/) });
    await writeFile(join(A.home, 'device.json'), JSON.stringify({ format: 1, deviceId: 'zz' }));
    await expect(A.session()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/device\.json: deviceId/) });
  });

  it('a bandwidth limit in device.json is read by `ccsync sync`; a malformed one is a usage error naming it', async () => {
    const { A } = await pair();
    const { runCli } = await import('../core/test-support/vaultHarness');
    const config = JSON.parse(await readFile(join(A.home, 'device.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(A.home, 'device.json'), JSON.stringify({ ...config, bwlimit: 'fast please' }));
    const r = await runCli(['--home', A.home, 'sync'], { env: { CCSYNC_BWLIMIT: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"bwlimit" in device\.json/);
    await writeFile(join(A.home, 'device.json'), JSON.stringify({ ...config, bwlimit: 42 }));
    await expect(A.session()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/bwlimit/) });
  });

  it('a missing home is NOT_INITIALIZED', async () => {
    const { A } = await pair();
    const { TestDevice } = await import('../core/test-support/vaultHarness');
    await expect(new TestDevice(join(A.home, 'nope'), A.root, A.store).session()).rejects.toMatchObject({ code: 'NOT_INITIALIZED' });
  });

  it('a corrupt state database is CONFIG_INVALID with what to do, and the root is untouched', async () => {
    const { A } = await pair();
    await writeFile(join(A.root, 'CLAUDE.md'), 'mine');
    await A.sync();
    await writeFile(join(A.home, 'state.db'), Buffer.alloc(8192, 0x5a));
    await expect(A.sync()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/state database .* corrupt.*move it aside/) });
    expect(await readFile(join(A.root, 'CLAUDE.md'), 'utf8')).toBe('mine');
  });

  it('a file that vanishes between scan and read is skipped, not recorded', async () => {
    const { A } = await pair();
    const s = await A.session();
    try {
      const r = await hashFile(A.root, { path: 'gone.md', localPath: 'gone.md', size: 3, mtimeNs: '1', ctimeNs: '1', ino: '1', mode: 0o644 }, s.keys, s.manifest, null);
      expect(r).toBeNull();
    } finally {
      s.close();
    }
  });
});
