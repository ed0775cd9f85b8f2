import { mkdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCcsError } from '../core/common/errors';
import { joinDevice } from '../core/engine/setup';
import { MemorySecretStore, TEST_PASSWORD, makeDevices, readTree, tempDir, treesEqual, type TestDevice } from '../core/test-support/vaultHarness';

// Every kind of damage to the remote must be detected with a specific error, and must leave the
// reading device's files and the remote exactly as they were.

interface Fixture {
  remote: string;
  A: TestDevice;
  B: TestDevice;
  cleanup: () => Promise<void>;
}

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.cleanup();
  fx = null;
});

async function setup(): Promise<Fixture> {
  const dir = await tempDir();
  const remote = join(dir.path, 'remote');
  const [A, B] = await makeDevices(dir.path, remote, 2);
  await writeFile(join(A!.root, 'CLAUDE.md'), 'first\n');
  await A!.sync();
  await B!.sync();
  // A second round on A gives B something new to fetch: a new pack and a new log entry.
  await mkdir(join(A!.root, 'agents'));
  await writeFile(join(A!.root, 'agents/new.md'), 'second '.repeat(1000));
  await writeFile(join(A!.root, 'CLAUDE.md'), 'first, edited\n');
  await A!.sync();
  fx = { remote, A: A!, B: B!, cleanup: dir.cleanup };
  return fx;
}

async function snapshotRemote(remote: string): Promise<Map<string, Buffer>> {
  return readTree(remote);
}

async function newestPack(f: Fixture): Promise<string> {
  const s = await f.A.session();
  try {
    const packs = s.db.allPacks();
    const last = packs.find((p) => s.db.chunksOfPack(p.id).length > 0 && p.id === [...packs].pop()!.id) ?? packs[packs.length - 1]!;
    return join(f.remote, 'data', last.id.slice(0, 2), last.id);
  } finally {
    s.close();
  }
}

async function expectRejected(f: Fixture, code: string, message: RegExp): Promise<void> {
  const before = await readTree(f.B.root);
  const remoteBefore = await snapshotRemote(f.remote);
  let err: unknown;
  try {
    await f.B.sync();
  } catch (e) {
    err = e;
  }
  expect(isCcsError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  expect((err as Error).message).toMatch(message);
  expect(treesEqual(before, await readTree(f.B.root))).toBe(true);
  expect(treesEqual(remoteBefore, await snapshotRemote(f.remote))).toBe(true);
  expect((await readTree(f.B.root)).get('CLAUDE.md')?.toString()).toBe('first\n');
}

describe('tampered or damaged remote data', () => {
  it('a flipped byte in a pack', async () => {
    const f = await setup();
    const p = await newestPack(f);
    const b = await readFile(p);
    b[b.length >> 1]! ^= 0x01;
    await writeFile(p, b);
    await expectRejected(f, 'OBJECT_CORRUPT', /failed authentication|does not match/);
  });

  it('a truncated pack', async () => {
    const f = await setup();
    const p = await newestPack(f);
    const b = await readFile(p);
    await truncate(p, b.length - 17);
    await expectRejected(f, 'OBJECT_CORRUPT', /truncated|short|bytes/);
  });

  it('a pack swapped with another pack', async () => {
    const f = await setup();
    const s = await f.A.session();
    const packs = s.db.allPacks().map((p) => join(f.remote, 'data', p.id.slice(0, 2), p.id));
    s.close();
    expect(packs.length).toBeGreaterThanOrEqual(2);
    const [p1, p2] = [packs[0]!, packs[packs.length - 1]!];
    const [b1, b2] = [await readFile(p1), await readFile(p2)];
    await writeFile(p1, b2);
    await writeFile(p2, b1);
    await expectRejected(f, 'OBJECT_CORRUPT', /./);
  });

  it('a deleted pack', async () => {
    const f = await setup();
    await rm(await newestPack(f));
    await expectRejected(f, 'OBJECT_MISSING', /missing/);
  });

  it('a flipped byte in a log entry', async () => {
    const f = await setup();
    const s = await f.A.session();
    const log = join(f.remote, 'log', s.config.deviceId, '0000000002');
    s.close();
    const b = await readFile(log);
    b[40]! ^= 0x80;
    await writeFile(log, b);
    await expectRejected(f, 'OBJECT_CORRUPT', /log\/.*failed authentication/);
  });

  it('log entries swapped with each other', async () => {
    const f = await setup();
    const s = await f.A.session();
    const dir = join(f.remote, 'log', s.config.deviceId);
    s.close();
    await rename(join(dir, '0000000001'), join(dir, 'tmp'));
    await rename(join(dir, '0000000002'), join(dir, '0000000001'));
    await rename(join(dir, 'tmp'), join(dir, '0000000002'));
    // B already has entry 1, so it reads the (old) entry 1 under the name of entry 2.
    await expectRejected(f, 'OBJECT_CORRUPT', /failed authentication/);
  });

  it('a deleted log entry that the head still announces', async () => {
    const f = await setup();
    const s = await f.A.session();
    await rm(join(f.remote, 'log', s.config.deviceId, '0000000002'));
    s.close();
    await expectRejected(f, 'OBJECT_MISSING', /missing/);
  });

  it('a modified manifest', async () => {
    const f = await setup();
    const m = JSON.parse(await readFile(join(f.remote, 'config'), 'utf8'));
    m.packSize = m.packSize * 2;
    await writeFile(join(f.remote, 'config'), JSON.stringify(m));
    let err: unknown;
    try {
      await f.B.session();
    } catch (e) {
      err = e;
    }
    expect((err as { code: string }).code).toBe('OBJECT_CORRUPT');
    expect((err as Error).message).toMatch(/manifest failed authentication/);
  });

  it('a missing remote folder (unmounted drive) is an error, never "everything was deleted"', async () => {
    const f = await setup();
    await rename(f.remote, f.remote + '-away');
    const before = await readTree(f.B.root);
    await expect(f.B.sync()).rejects.toMatchObject({ code: 'REMOTE_NOT_FOUND' });
    expect(treesEqual(before, await readTree(f.B.root))).toBe(true);
    await rename(f.remote + '-away', f.remote);
    await f.B.sync();
    expect((await readTree(f.B.root)).get('CLAUDE.md')?.toString()).toBe('first, edited\n');
  });
});

describe('hostile key material', () => {
  async function joinWithManifestKdf(mutate: (kdf: Record<string, unknown>) => void) {
    const dir = await tempDir();
    const remote = join(dir.path, 'remote');
    await makeDevices(dir.path, remote, 1);
    const m = JSON.parse(await readFile(join(remote, 'config'), 'utf8'));
    mutate(m.kdf);
    await writeFile(join(remote, 'config'), JSON.stringify(m));
    const root = join(dir.path, 'rootX');
    await mkdir(root);
    const started = performance.now();
    let err: unknown;
    try {
      await joinDevice({ home: join(dir.path, 'homeX'), root, remote, password: TEST_PASSWORD, secretStore: new MemorySecretStore() });
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - started;
    await dir.cleanup();
    return { err: err as { code: string; message: string }, ms };
  }

  it('KDF parameters below the floor are refused before any KDF work', async () => {
    const { err, ms } = await joinWithManifestKdf((k) => (k.memoryKiB = 1024));
    expect(err.code).toBe('KDF_PARAMS_REJECTED');
    expect(err.message).toMatch(/memoryKiB/);
    expect(ms).toBeLessThan(2000);
  });

  it('KDF parameters above the ceiling are refused before any KDF work', async () => {
    const { err, ms } = await joinWithManifestKdf((k) => (k.memoryKiB = 64 * 1024 * 1024));
    expect(err.code).toBe('KDF_PARAMS_REJECTED');
    expect(err.message).toMatch(/memoryKiB/);
    expect(ms).toBeLessThan(2000);
  });

  it('a password key slot with weakened KDF parameters is refused before any KDF work', async () => {
    const dir = await tempDir();
    const remote = join(dir.path, 'remote');
    await makeDevices(dir.path, remote, 1);
    const slot = JSON.parse(await readFile(join(remote, 'keys/password'), 'utf8'));
    slot.kdf.iterations = 1;
    await writeFile(join(remote, 'keys/password'), JSON.stringify(slot));
    const root = join(dir.path, 'rootX');
    await mkdir(root);
    await expect(joinDevice({ home: join(dir.path, 'homeX'), root, remote, password: TEST_PASSWORD, secretStore: new MemorySecretStore() })).rejects.toMatchObject({ code: 'KDF_PARAMS_REJECTED', message: expect.stringMatching(/iterations/) });
    await dir.cleanup();
  });

  it('a wrong password is WRONG_PASSWORD and creates no device', async () => {
    const dir = await tempDir();
    const remote = join(dir.path, 'remote');
    await makeDevices(dir.path, remote, 1);
    const root = join(dir.path, 'rootX');
    await mkdir(root);
    await expect(joinDevice({ home: join(dir.path, 'homeX'), root, remote, password: 'wrong', secretStore: new MemorySecretStore() })).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
    await expect(readFile(join(dir.path, 'homeX', 'device.json'))).rejects.toThrow();
    await dir.cleanup();
  });
});
