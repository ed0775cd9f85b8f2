import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { historyOf, listConflicts, resolveConflict, restoreVersion } from '../core/engine/conflicts';
import { makeDevices, readTree, tempDir, treesEqual, type TestDevice } from '../core/test-support/vaultHarness';

// The merge scenarios, through real vaults on a real folder remote.

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function devices(n: number, files: Record<string, string> = {}): Promise<TestDevice[]> {
  const dir = await tempDir();
  cleanup = dir.cleanup;
  const ds = await makeDevices(dir.path, join(dir.path, 'remote'), n);
  for (const [p, c] of Object.entries(files)) {
    await mkdir(join(ds[0]!.root, p, '..'), { recursive: true });
    await writeFile(join(ds[0]!.root, p), c);
  }
  for (const d of ds) await d.sync();
  return ds;
}

async function converge(ds: TestDevice[]): Promise<void> {
  for (let round = 0; round < 2; round++) for (const d of ds) await d.sync();
  const first = await readTree(ds[0]!.root);
  for (const d of ds.slice(1)) expect(treesEqual(first, await readTree(d.root))).toBe(true);
}

const memory = ['# Memory', '', '## Style', 'Use tabs.', '', '## Tools', 'Prefer rg.', '', '## Tests', 'Run them.', ''].join('\n');

describe('merge scenarios', () => {
  it('two devices edit different sections of CLAUDE.md → merged, no conflict', async () => {
    const [A, B] = await devices(2, { 'CLAUDE.md': memory });
    await writeFile(join(A!.root, 'CLAUDE.md'), memory.replace('Use tabs.', 'Use spaces.'));
    await writeFile(join(B!.root, 'CLAUDE.md'), memory.replace('Run them.', 'Run them twice.'));
    await A!.sync();
    const rb = await B!.sync();
    expect(rb.conflicts).toBe(0);
    expect(rb.plan.merge).toEqual([{ path: 'CLAUDE.md', kind: 'text', merged: true }]);
    await converge([A!, B!]);
    expect(await readFile(join(A!.root, 'CLAUDE.md'), 'utf8')).toBe(memory.replace('Use tabs.', 'Use spaces.').replace('Run them.', 'Run them twice.'));
  });

  it('both edit the same line → one conflict; resolve ends it on both devices', async () => {
    const [A, B] = await devices(2, { 'CLAUDE.md': memory });
    await writeFile(join(A!.root, 'CLAUDE.md'), memory.replace('Use tabs.', 'Use spaces.'));
    await writeFile(join(B!.root, 'CLAUDE.md'), memory.replace('Use tabs.', 'Use 2 spaces.'));
    await A!.sync();
    const rb = await B!.sync();
    expect(rb.conflictPaths).toEqual(['CLAUDE.md']);
    expect(rb.plan.merge[0]).toMatchObject({ path: 'CLAUDE.md', merged: false, reason: 'overlapping edits' });
    expect((await A!.sync()).conflicts).toBe(1);
    const sb = await B!.session();
    try {
      const list = await listConflicts(sb);
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ path: 'CLAUDE.md', kind: 'content' });
      expect(list[0]!.versions.map((v) => v.deviceName).sort()).toEqual(['dev0', 'dev1']);
      await resolveConflict(sb, 'CLAUDE.md', 'local');
    } finally {
      sb.close();
    }
    expect(await readFile(join(B!.root, 'CLAUDE.md'), 'utf8')).toBe(memory.replace('Use tabs.', 'Use 2 spaces.'));
    await converge([A!, B!]);
    expect((await A!.sync()).conflicts).toBe(0);
    expect((await B!.sync()).conflicts).toBe(0);
    expect(await readFile(join(A!.root, 'CLAUDE.md'), 'utf8')).toBe(memory.replace('Use tabs.', 'Use 2 spaces.'));
  });

  it('delete on A while B edits → B’s edit survives everywhere', async () => {
    const [A, B] = await devices(2, { 'agents/x.md': 'v1\n', 'CLAUDE.md': 'keep' });
    await rm(join(A!.root, 'agents/x.md'));
    await writeFile(join(B!.root, 'agents/x.md'), 'v2 from B\n');
    await A!.sync();
    await B!.sync();
    await converge([A!, B!]);
    expect(await readFile(join(A!.root, 'agents/x.md'), 'utf8')).toBe('v2 from B\n');
    expect((await A!.sync()).conflicts).toBe(0);
  });

  it('binary files edited on both sides stay a conflict with both versions kept; --keep both keeps both', async () => {
    const [A, B] = await devices(2, { 'assets/logo.bin': '\u0000\u0001one' });
    await writeFile(join(A!.root, 'assets/logo.bin'), Buffer.from([0, 1, 2, 3]));
    await writeFile(join(B!.root, 'assets/logo.bin'), Buffer.from([0, 9, 9, 9]));
    await A!.sync();
    const rb = await B!.sync();
    expect(rb.conflictPaths).toEqual(['assets/logo.bin']);
    expect(rb.plan.merge[0]).toMatchObject({ kind: 'binary', merged: false });
    // No conflict-copy files appear in the root by themselves.
    expect([...(await readTree(B!.root)).keys()]).toEqual(['assets/logo.bin']);
    const sa = await A!.session();
    try {
      const r = await resolveConflict(sa, 'assets/logo.bin', 'both');
      expect(r.extra).toBe('assets/logo (dev1).bin');
    } finally {
      sa.close();
    }
    await converge([A!, B!]);
    expect((await readFile(join(B!.root, 'assets/logo.bin'))).equals(Buffer.from([0, 1, 2, 3]))).toBe(true);
    expect((await readFile(join(B!.root, 'assets/logo (dev1).bin'))).equals(Buffer.from([0, 9, 9, 9]))).toBe(true);
  });

  it('a device offline for a long time neither resurrects deleted files nor deletes new ones', async () => {
    const [A, B, C] = await devices(3, { 'commands/old.md': 'old', 'commands/keep.md': 'keep' });
    // C goes offline. A deletes old.md, B creates new.md; many syncs happen.
    await rm(join(A!.root, 'commands/old.md'));
    await A!.sync();
    await writeFile(join(B!.root, 'commands/new.md'), 'new');
    for (let i = 0; i < 3; i++) {
      await B!.sync();
      await A!.sync();
    }
    // C comes back with no local changes.
    await C!.sync();
    await converge([A!, B!, C!]);
    expect([...(await readTree(C!.root)).keys()].sort()).toEqual(['commands/keep.md', 'commands/new.md']);
  });

  it('dry run lists push, pull, merge and conflicts and changes nothing', async () => {
    const [A, B] = await devices(2, { 'CLAUDE.md': memory, 'a.md': 'a', 'b.md': 'b' });
    await writeFile(join(A!.root, 'CLAUDE.md'), memory.replace('Use tabs.', 'Use spaces.'));
    await writeFile(join(A!.root, 'new-from-a.md'), 'n');
    await A!.sync();
    await writeFile(join(B!.root, 'CLAUDE.md'), memory.replace('Run them.', 'Run them twice.'));
    await writeFile(join(B!.root, 'a.md'), 'a changed on B');
    await rm(join(B!.root, 'b.md'));
    const remoteBefore = await readTree(join(B!.root, '..', 'remote'));
    const treeBefore = await readTree(B!.root);
    const r = await B!.sync({ dryRun: true });
    expect(r.dryRun).toBe(true);
    expect(r.plan.push.sort((x, y) => (x.path < y.path ? -1 : 1))).toEqual([
      { path: 'CLAUDE.md', action: 'modify' },
      { path: 'a.md', action: 'modify' },
      { path: 'b.md', action: 'delete' },
    ]);
    expect(r.plan.pull).toEqual(expect.arrayContaining([{ path: 'new-from-a.md', action: 'create' }, { path: 'CLAUDE.md', action: 'modify' }]));
    expect(r.plan.merge).toEqual([{ path: 'CLAUDE.md', kind: 'text', merged: true }]);
    expect(r.bytesUploaded).toBe(0);
    expect(treesEqual(remoteBefore, await readTree(join(B!.root, '..', 'remote')))).toBe(true);
    expect(treesEqual(treeBefore, await readTree(B!.root))).toBe(true);
    // And the real sync does what the dry run said.
    const real = await B!.sync();
    expect(real.pushed).toBe(3);
    expect(await readFile(join(B!.root, 'new-from-a.md'), 'utf8')).toBe('n');
  });

  it('history lists every version; restore brings an old one back on every device', async () => {
    const [A, B] = await devices(2, { 'CLAUDE.md': 'one\n' });
    await writeFile(join(A!.root, 'CLAUDE.md'), 'two\n');
    await A!.sync();
    await writeFile(join(A!.root, 'CLAUDE.md'), 'three\n');
    await A!.sync();
    const sb = await B!.session();
    try {
      await B!.sync();
      const s2 = await B!.session();
      const h = historyOf(s2, 'CLAUDE.md');
      expect(h.map((v) => v.size)).toEqual([4, 4, 6]);
      expect(h.filter((v) => v.head)).toHaveLength(1);
      await restoreVersion(s2, 'CLAUDE.md', h[0]!.versionId);
      s2.close();
    } finally {
      sb.close();
    }
    expect(await readFile(join(B!.root, 'CLAUDE.md'), 'utf8')).toBe('one\n');
    await converge([A!, B!]);
    expect(await readFile(join(A!.root, 'CLAUDE.md'), 'utf8')).toBe('one\n');
  });
});

describe('renames', () => {
  it('a moved file is published as a rename and moved (not downloaded) on the other device', async () => {
    const big = 'x'.repeat(300_000);
    const [A, B] = await devices(2, { 'skills/old-name/SKILL.md': big, 'CLAUDE.md': 'm' });
    const { rename: mv } = await import('node:fs/promises');
    await mkdir(join(A!.root, 'skills/new-name'), { recursive: true });
    await mv(join(A!.root, 'skills/old-name/SKILL.md'), join(A!.root, 'skills/new-name/SKILL.md'));
    await rm(join(A!.root, 'skills/old-name'), { recursive: true });
    const ra = await A!.sync();
    expect(ra.plan.push).toEqual(expect.arrayContaining([{ path: 'skills/new-name/SKILL.md', action: 'create', from: 'skills/old-name/SKILL.md' }]));
    expect(ra.bytesUploaded).toBeLessThan(10_000); // content deduplicated: only metadata moves
    const rb = await B!.sync();
    expect(rb.plan.pull).toEqual(expect.arrayContaining([{ path: 'skills/new-name/SKILL.md', action: 'create', from: 'skills/old-name/SKILL.md' }]));
    expect(rb.bytesDownloaded).toBeLessThan(10_000); // moved locally, not downloaded
    expect([...(await readTree(B!.root)).keys()].sort()).toEqual(['CLAUDE.md', 'skills/new-name/SKILL.md']);
    expect(await readFile(join(B!.root, 'skills/new-name/SKILL.md'), 'utf8')).toBe(big);
  });
});

describe('settings.json', () => {
  const settings = (allow: string[], extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'opus', permissions: { allow, deny: [] }, ...extra }, null, 2) + '\n';

  it('two devices add different permissions and remove a third → both additions present, removal holds', async () => {
    const [A, B] = await devices(2, { 'settings.json': settings(['Bash(ls)', 'Bash(git status)', 'Read(*)']) });
    await writeFile(join(A!.root, 'settings.json'), settings(['Bash(ls)', 'Bash(git status)', 'Read(*)', 'Bash(npm test)']));
    await writeFile(join(B!.root, 'settings.json'), settings(['Bash(ls)', 'Read(*)', 'Bash(cargo build)']));
    await A!.sync();
    const rb = await B!.sync();
    expect(rb.plan.merge).toEqual([{ path: 'settings.json', kind: 'json', merged: true }]);
    expect(rb.conflicts).toBe(0);
    await converge([A!, B!]);
    const value = JSON.parse(await readFile(join(A!.root, 'settings.json'), 'utf8'));
    expect([...value.permissions.allow].sort()).toEqual(['Bash(cargo build)', 'Bash(ls)', 'Bash(npm test)', 'Read(*)']);
    expect(value.model).toBe('opus');
  });

  it('different keys both win; the same key set differently is a reviewable conflict with one winner everywhere', async () => {
    const [A, B] = await devices(2, { 'settings.json': settings([], { theme: 'dark', env: { A: '1' } }) });
    await writeFile(join(A!.root, 'settings.json'), settings([], { theme: 'light', env: { A: '1', FROM_A: 'x' } }));
    await writeFile(join(B!.root, 'settings.json'), settings([], { theme: 'solarized', env: { A: '1', FROM_B: 'y' }, unknownKey: { nested: true } }));
    await A!.sync();
    const rb = await B!.sync();
    expect(rb.conflictPaths).toEqual(['settings.json']);
    await converge([A!, B!]);
    const value = JSON.parse(await readFile(join(A!.root, 'settings.json'), 'utf8'));
    expect(value.env).toEqual({ A: '1', FROM_A: 'x', FROM_B: 'y' });
    expect(value.unknownKey).toEqual({ nested: true });
    expect(['light', 'solarized']).toContain(value.theme);
    const s = await A!.session();
    try {
      const list = await listConflicts(s);
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ path: 'settings.json', kind: 'json-keys' });
      expect(list[0]!.keys).toEqual([{ key: 'theme', values: expect.arrayContaining(['light', 'solarized']), devices: expect.any(Array) }]);
      // Any later edit of the file (or resolve) ends the review.
      await resolveConflict(s, 'settings.json', 'local');
    } finally {
      s.close();
    }
    await converge([A!, B!]);
    expect((await B!.sync()).conflicts).toBe(0);
  });

  it('reformatting only is not a change', async () => {
    const [A] = await devices(2, { 'settings.json': settings(['Bash(ls)']) });
    await writeFile(join(A!.root, 'settings.json'), JSON.stringify(JSON.parse(settings(['Bash(ls)']))));
    const r = await A!.sync();
    expect(r.pushed).toBe(1); // the bytes changed, so a version is recorded …
    expect(r.plan.merge).toEqual([]); // … but nothing conflicts or needs merging
  });
});
