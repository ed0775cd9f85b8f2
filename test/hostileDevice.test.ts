import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { UnsignedLogEntry } from '../core/engine/format';
import { writeHead, writeLogEntry } from '../core/engine/logStore';
import { newStats } from '../core/engine/transferStats';
import { makeDevices, readTree, tempDir } from '../core/test-support/vaultHarness';

// A device that holds the vault key but misbehaves (a bug, or a compromised machine) must not be
// able to make another device write outside its root or through a symlink.

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

describe('versions with hostile paths', () => {
  it('are rejected with a reason; nothing is written outside the root; good versions still apply', async () => {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const [A, B] = await makeDevices(dir.path, join(dir.path, 'remote'), 2);
    await writeFile(join(A!.root, 'good.md'), 'payload');
    await A!.sync();
    const s = await A!.session();
    try {
      const good = s.db.headsOf('good.md')[0]!;
      const hostile = ['../escape.md', '/etc/ccsync-pwned', 'a/../../escape2.md', 'x\\..\\y.md', 'n\u0000ul.md', 'cafe\u0301.md', 'a'.repeat(300) + '.md', 'ok/legit.md'];
      const seq = s.db.deviceSeq(s.config.deviceId) + 1;
      const entry: UnsignedLogEntry = {
        format: 2,
        device: s.config.deviceId,
        deviceName: 'evil',
        seq,
        hlc: good.hlc,
        createdAt: new Date().toISOString(),
        packs: [],
        versions: hostile.map((path, i) => ({ ...good, id: `${s.config.deviceId}-${1000 + i}`, path, vv: { [s.config.deviceId]: 1 }, dot: 1 })),
      };
      await writeLogEntry(s.remote, s.keys, entry, newStats());
      await writeHead(s.remote, s.keys, { device: s.config.deviceId, deviceName: 'evil', seq, updatedAt: new Date().toISOString() }, newStats());
    } finally {
      s.close();
    }
    const r = await B!.sync();
    const rejected = r.problems.filter((p) => /rejected: path/.test(p.message)).map((p) => p.path);
    expect(rejected.sort()).toEqual(['../escape.md', '/etc/ccsync-pwned', 'a/../../escape2.md', 'x\\..\\y.md', 'n\u0000ul.md', 'cafe\u0301.md', 'a'.repeat(300) + '.md'].sort());
    expect([...(await readTree(B!.root)).keys()].sort()).toEqual(['good.md', 'ok/legit.md']);
    expect(await readFile(join(B!.root, 'ok/legit.md'), 'utf8')).toBe('payload');
    expect((await readdir(dir.path)).filter((n) => n.startsWith('escape'))).toEqual([]);
    await expect(readFile('/etc/ccsync-pwned')).rejects.toThrow();
  });

  it('a version under a directory that is a symlink on this device is refused, not followed', async () => {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const [A, B] = await makeDevices(dir.path, join(dir.path, 'remote'), 2);
    const outside = join(dir.path, 'outside');
    await mkdir(outside);
    const { symlink } = await import('node:fs/promises');
    await symlink(outside, join(B!.root, 'skills'));
    await mkdir(join(A!.root, 'skills'));
    await writeFile(join(A!.root, 'skills/SKILL.md'), 'through the link?');
    await A!.sync();
    await writeFile(join(A!.root, 'CLAUDE.md'), 'still syncs');
    await A!.sync();
    const r = await B!.sync();
    expect(r.problems).toContainEqual({ path: 'skills/SKILL.md', message: expect.stringMatching(/not a plain directory/) });
    expect(await readdir(outside)).toEqual([]);
    expect(await readFile(join(B!.root, 'CLAUDE.md'), 'utf8')).toBe('still syncs');
  });
});
