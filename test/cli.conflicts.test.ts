import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../core/test-support/vaultHarness';

// The conflict workflow through the real CLI and OS keychain: detect, preview, list, resolve,
// history and restore; the JSON fields and exit codes are a public interface.
const hasKeychain = !!process.env.DBUS_SESSION_BUS_ADDRESS;

describe.runIf(hasKeychain)('ccsync conflicts / resolve / history / restore / sync --dry-run', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const A = { home: '', root: '' };
  const B = { home: '', root: '' };
  const cli = (d: { home: string }, args: string[], input?: string) => runCli(['--home', d.home, ...args], input !== undefined ? { input } : {});

  beforeAll(async () => {
    dir = await tempDir();
    const remote = join(dir.path, 'remote');
    Object.assign(A, { home: join(dir.path, 'ha'), root: join(dir.path, 'ra') });
    Object.assign(B, { home: join(dir.path, 'hb'), root: join(dir.path, 'rb') });
    await mkdir(A.root);
    await mkdir(B.root);
    expect((await cli(A, ['init', '--root', A.root, '--remote', remote, '--device-name', 'alpha', '--password-stdin'], 'pw\n')).code).toBe(0);
    expect((await cli(B, ['join', '--root', B.root, '--remote', remote, '--device-name', 'beta', '--password-stdin'], 'pw\n')).code).toBe(0);
    await writeFile(join(A.root, 'CLAUDE.md'), 'line one\nline two\n');
    await writeFile(join(A.root, 'keep.md'), 'k');
    expect((await cli(A, ['sync'])).code).toBe(0);
    expect((await cli(B, ['sync'])).code).toBe(0);
  });
  afterAll(() => dir.cleanup());

  it('same-line edits: dry run previews the conflict, sync exits 3, resolve ends it on both devices', async () => {
    await writeFile(join(A.root, 'CLAUDE.md'), 'line ONE from alpha\nline two\n');
    await writeFile(join(B.root, 'CLAUDE.md'), 'line one from beta\nline two\n');
    expect((await cli(A, ['sync'])).code).toBe(0);

    const dry = await cli(B, ['sync', '--dry-run', '--json']);
    expect(dry.code).toBe(3);
    const plan = JSON.parse(dry.stdout);
    expect(plan.dryRun).toBe(true);
    expect(plan.plan.push).toEqual([{ path: 'CLAUDE.md', action: 'modify' }]);
    expect(plan.plan.merge).toEqual([{ path: 'CLAUDE.md', kind: 'text', merged: false, reason: 'overlapping edits' }]);
    expect(plan.conflictPaths).toEqual(['CLAUDE.md']);
    expect(await readFile(join(B.root, 'CLAUDE.md'), 'utf8')).toBe('line one from beta\nline two\n');

    expect((await cli(B, ['sync'])).code).toBe(3);
    const list = await cli(B, ['conflicts', '--json']);
    expect(list.code).toBe(3);
    const conflicts = JSON.parse(list.stdout);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0].path).toBe('CLAUDE.md');
    expect(conflicts[0].kind).toBe('content');
    expect(conflicts[0].devices.sort()).toEqual(['alpha', 'beta']);
    expect(conflicts[0].versions.map((v: { summary: string }) => v.summary).sort()).toEqual(['line ONE from alpha', 'line one from beta']);

    const merged = join(dir.path, 'merged.md');
    await writeFile(merged, 'line ONE from alpha and beta\nline two\n');
    const r = await cli(B, ['resolve', 'CLAUDE.md', '--keep', 'merged', '--from', merged, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).versionId).toMatch(/^[0-9a-f]{16}-\d+$/);
    expect((await cli(A, ['sync'])).code).toBe(0);
    expect(await readFile(join(A.root, 'CLAUDE.md'), 'utf8')).toBe('line ONE from alpha and beta\nline two\n');
    expect(JSON.parse((await cli(A, ['conflicts', '--json'])).stdout)).toEqual([]);
    expect((await cli(B, ['sync'])).code).toBe(0);
  });

  it('history --json lists versions; restore brings one back everywhere', async () => {
    const h = await cli(A, ['history', 'CLAUDE.md', '--json']);
    expect(h.code).toBe(0);
    const versions = JSON.parse(h.stdout);
    expect(versions.length).toBeGreaterThanOrEqual(4);
    expect(Object.keys(versions[0]).sort()).toEqual(expect.arrayContaining(['versionId', 'device', 'deviceName', 'time', 'deleted', 'size', 'head', 'current']));
    const first = versions[0].versionId;
    const r = await cli(A, ['restore', 'CLAUDE.md', '--version', first]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(A.root, 'CLAUDE.md'), 'utf8')).toBe('line one\nline two\n');
    expect((await cli(B, ['sync'])).code).toBe(0);
    expect(await readFile(join(B.root, 'CLAUDE.md'), 'utf8')).toBe('line one\nline two\n');
    const bad = await cli(A, ['restore', 'CLAUDE.md', '--version', 'nope-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no version nope-1/);
  });
});
