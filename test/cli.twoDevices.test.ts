import { mkdir, writeFile, appendFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTree, runCli, tempDir, treesEqual } from '../core/test-support/vaultHarness';

// The foundation's acceptance scenario through the real CLI, the real OS keychain (a private
// gnome-keyring started by `npm test`) and a real folder remote.
const hasKeychain = !!process.env.DBUS_SESSION_BUS_ADDRESS;

describe.runIf(hasKeychain)('ccsync CLI: two devices on one folder remote', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let A: { home: string; root: string };
  let B: { home: string; root: string };
  let remote: string;
  const cli = (d: { home: string }, args: string[], input?: string) => runCli(['--home', d.home, ...args], input !== undefined ? { input } : {});

  beforeAll(async () => {
    dir = await tempDir();
    remote = join(dir.path, 'remote');
    A = { home: join(dir.path, 'ha'), root: join(dir.path, 'ra') };
    B = { home: join(dir.path, 'hb'), root: join(dir.path, 'rb') };
    await mkdir(A.root);
    await mkdir(B.root);
  });
  afterAll(() => dir.cleanup());

  it('init on A, join on B, edits on both, two syncs each → byte-identical trees', async () => {
    const init = await cli(A, ['init', '--root', A.root, '--remote', remote, '--device-name', 'laptop', '--password-stdin', '--json'], 'pw-Ω-1\n');
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    const initJson = JSON.parse(init.stdout);
    expect(initJson.keyStore).toBe('os');

    await mkdir(join(A.root, 'skills/review'), { recursive: true });
    await writeFile(join(A.root, 'skills/review/SKILL.md'), '# Review\nBe thorough.\n');
    await writeFile(join(A.root, 'settings.json'), JSON.stringify({ permissions: { allow: ['Bash(ls)'] } }, null, 2));
    await writeFile(join(A.root, 'CLAUDE.md'), '# Memory\n');
    await mkdir(join(A.root, 'projects/x'), { recursive: true });
    await writeFile(join(A.root, 'projects/x/transcript.jsonl'), 'never synced');

    const join_ = await cli(B, ['join', '--root', B.root, '--remote', remote, '--device-name', 'desktop', '--password-stdin', '--json'], 'pw-Ω-1\n');
    expect(join_.code).toBe(0);
    expect(JSON.parse(join_.stdout).vaultId).toBe(initJson.vaultId);
    await mkdir(join(B.root, 'agents'), { recursive: true });
    await writeFile(join(B.root, 'agents/planner.md'), 'plan things');

    // B's first sync pulls A's files; then both edit, and each syncs twice.
    expect((await cli(A, ['sync'])).code).toBe(0);
    expect((await cli(B, ['sync'])).code).toBe(0);
    await appendFile(join(A.root, 'CLAUDE.md'), 'edited on A\n');
    await mkdir(join(B.root, 'commands'), { recursive: true });
    await writeFile(join(B.root, 'commands/deploy.md'), 'deploy it');
    await rm(join(B.root, 'agents/planner.md'));
    await writeFile(join(B.root, 'agents/planner.md'), 'plan things');
    for (let round = 0; round < 2; round++) {
      for (const d of [A, B]) {
        const r = await cli(d, ['sync', '--json']);
        expect(r.code, r.stderr).toBe(0);
        const j = JSON.parse(r.stdout);
        for (const k of ['pushed', 'pulled', 'conflicts', 'bytesUploaded', 'bytesDownloaded', 'durationMs']) expect(typeof j[k]).toBe('number');
      }
    }
    const ta = await readTree(A.root);
    const tb = await readTree(B.root);
    ta.delete('projects/x/transcript.jsonl');
    expect([...tb.keys()].sort()).toEqual([...ta.keys()].sort());
    expect(treesEqual(ta, tb)).toBe(true);
    expect(tb.get('CLAUDE.md')!.toString()).toBe('# Memory\nedited on A\n');
    expect(tb.has('projects/x/transcript.jsonl')).toBe(false);
  });

  it('status --json has the documented fields', async () => {
    const r = await cli(B, ['status', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Object.keys(s).sort()).toEqual(['device', 'items', 'lastSync', 'queue', 'remote', 'root'].sort());
    expect(s.device.name).toBe('desktop');
    expect(s.device.id).toMatch(/^[0-9a-f]{16}$/);
    expect(s.queue).toBe(0);
    const skill = s.items.find((i: { path: string }) => i.path === 'skills/review/SKILL.md');
    expect(skill).toEqual({ path: 'skills/review/SKILL.md', type: 'skill', state: 'synced' });
    expect(s.items.find((i: { path: string }) => i.path === 'settings.json').type).toBe('settings');
  });

  it('a pending local edit shows in status as pending-up and queue', async () => {
    await writeFile(join(B.root, 'agents/planner.md'), 'plan things better');
    const s = JSON.parse((await cli(B, ['status', '--json'])).stdout);
    expect(s.queue).toBe(1);
    expect(s.items.find((i: { path: string }) => i.path === 'agents/planner.md').state).toBe('pending-up');
    expect((await cli(B, ['sync'])).code).toBe(0);
    expect(JSON.parse((await cli(B, ['status', '--json'])).stdout).queue).toBe(0);
  });

  it('verify --read-data decrypts and checks everything', async () => {
    const r = await cli(A, ['verify', '--read-data', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.ok).toBe(true);
    expect(v.packsRead).toBe(v.packs);
    expect(v.packs).toBeGreaterThan(0);
  });

  it('wrong password → exit 4 with a clear message; usage error → exit 2', async () => {
    const r = await cli(A, ['sync', '--password-stdin'], 'not the password\n');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/wrong password/);
    const u = await cli(A, ['sync', '--no-such-flag']);
    expect(u.code).toBe(2);
    const j = await runCli(['--home', join(dir.path, 'hc'), 'join', '--root', join(dir.path, 'nowhere'), '--remote', remote, '--password-stdin'], { input: 'pw-Ω-1\n' });
    expect(j.code).toBe(1);
    expect(j.stderr).toMatch(/ROOT_MISSING/);
  });

  it('concurrent edits of one file are detected, both kept, exit 3', async () => {
    await writeFile(join(A.root, 'CLAUDE.md'), 'A version\n');
    await writeFile(join(B.root, 'CLAUDE.md'), 'B version\n');
    expect((await cli(A, ['sync'])).code).toBe(0);
    const rb = await cli(B, ['sync', '--json']);
    expect(rb.code).toBe(3);
    expect(JSON.parse(rb.stdout).conflictPaths).toEqual(['CLAUDE.md']);
    const ra = await cli(A, ['sync', '--json']);
    expect(ra.code).toBe(3);
    // Same deterministic winner on both; the loser stays in the vault (status shows the conflict).
    const a = (await readTree(A.root)).get('CLAUDE.md')!.toString();
    const b = (await readTree(B.root)).get('CLAUDE.md')!.toString();
    expect(a).toBe(b);
    expect(['A version\n', 'B version\n']).toContain(a);
    const s = JSON.parse((await cli(A, ['status', '--json'])).stdout);
    expect(s.items.find((i: { path: string }) => i.path === 'CLAUDE.md').state).toBe('conflict');
  });

  it('without a keychain, init says so once and every run needs the password', async () => {
    const env = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' };
    const home = join(dir.path, 'hn');
    const root = join(dir.path, 'rn');
    await mkdir(root);
    const j = await runCli(['--home', home, 'join', '--root', root, '--remote', remote, '--password-stdin'], { input: 'pw-Ω-1\n', env });
    expect(j.code, j.stderr).toBe(0);
    expect(j.stderr).toMatch(/warning: no usable OS keychain/);
    const locked = await runCli(['--home', home, 'sync'], { env });
    expect(locked.code).toBe(4);
    expect(locked.stderr).toMatch(/password/);
    const ok = await runCli(['--home', home, 'sync'], { env: { ...env, CCSYNC_PASSWORD: 'pw-Ω-1' } });
    expect([0, 3]).toContain(ok.code);
    const fs = await import('node:fs/promises');
    const stateFiles = await fs.readdir(home);
    for (const f of stateFiles.filter((n) => n.endsWith('.json'))) {
      expect(await fs.readFile(join(home, f), 'utf8')).not.toMatch(/masterKey|"key"/);
    }
  });
});
