import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRecoveryKey, parseRecoveryKey } from '../core/engine/recoveryKey';
import { readTree, runCli, tempDir, treesEqual } from '../core/test-support/vaultHarness';
import { randomBytes } from 'node:crypto';

// Issue #6 (part): password change and recovery kit, through the real CLI and OS keychain.
const hasKeychain = !!process.env.DBUS_SESSION_BUS_ADDRESS;

describe('recovery key format', () => {
  it('round-trips 160-bit keys and tolerates case, dashes and look-alike letters', () => {
    for (let i = 0; i < 50; i++) {
      const k = randomBytes(20);
      const text = formatRecoveryKey(k);
      expect(text).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
      expect(parseRecoveryKey(text).equals(k)).toBe(true);
      expect(parseRecoveryKey(text.toLowerCase().replace(/-/g, ' ')).equals(k)).toBe(true);
    }
    expect(() => parseRecoveryKey('too-short')).toThrow(/32 characters/);
  });
});

describe.runIf(hasKeychain)('passwd and recovery-kit', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let remote = '';
  const A = { home: '', root: '' };
  const B = { home: '', root: '' };
  const cli = (d: { home: string }, args: string[], input?: string) => runCli(['--home', d.home, ...args], input !== undefined ? { input } : {});

  beforeAll(async () => {
    dir = await tempDir();
    remote = join(dir.path, 'remote');
    Object.assign(A, { home: join(dir.path, 'ha'), root: join(dir.path, 'ra') });
    Object.assign(B, { home: join(dir.path, 'hb'), root: join(dir.path, 'rb') });
    await mkdir(A.root);
    await mkdir(B.root);
    expect((await cli(A, ['init', '--root', A.root, '--remote', remote, '--password-stdin'], 'old-pw\n')).code).toBe(0);
    expect((await cli(B, ['join', '--root', B.root, '--remote', remote, '--password-stdin'], 'old-pw\n')).code).toBe(0);
    await mkdir(join(A.root, 'skills/x'), { recursive: true });
    await writeFile(join(A.root, 'skills/x/SKILL.md'), '# x\n');
    await writeFile(join(A.root, 'settings.json'), '{"a":1}\n');
    expect((await cli(A, ['sync'])).code).toBe(0);
  });
  afterAll(() => dir.cleanup());

  it('password change on A while B is offline: B keeps syncing; old password stops working; new one joins', async () => {
    const r = await cli(A, ['passwd', '--password-stdin'], 'old-pw\nnew-pw\n');
    expect(r.code, r.stderr).toBe(0);
    expect((await cli(B, ['sync'])).code).toBe(0); // B holds its key in the keychain
    expect((await readTree(B.root)).get('skills/x/SKILL.md')?.toString()).toBe('# x\n');
    const C = { home: join(dir.path, 'hc'), root: join(dir.path, 'rc') };
    await mkdir(C.root);
    const old = await cli(C, ['join', '--root', C.root, '--remote', remote, '--password-stdin'], 'old-pw\n');
    expect(old.code).toBe(4);
    const wrong = await cli(A, ['passwd', '--password-stdin'], 'old-pw\nx\n');
    expect(wrong.code).toBe(4);
    expect((await cli(C, ['join', '--root', C.root, '--remote', remote, '--password-stdin'], 'new-pw\n')).code).toBe(0);
  });

  it('recovery kit restores the whole vault on an empty machine, byte-identical', async () => {
    const kit = await cli(A, ['recovery-kit', '--json']);
    expect(kit.code, kit.stderr).toBe(0);
    const { recoveryKey } = JSON.parse(kit.stdout);
    expect(recoveryKey).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
    const R = { home: join(dir.path, 'hr'), root: join(dir.path, 'rr') };
    await mkdir(R.root);
    const wrong = await cli(R, ['join', '--root', R.root, '--remote', remote, '--recovery-key-stdin'], formatRecoveryKey(randomBytes(20)) + '\n');
    expect(wrong.code).toBe(4);
    const j = await cli(R, ['join', '--root', R.root, '--remote', remote, '--recovery-key-stdin'], recoveryKey + '\n');
    expect(j.code, j.stderr).toBe(0);
    expect((await cli(R, ['sync'])).code).toBe(0);
    expect(treesEqual(await readTree(A.root), await readTree(R.root))).toBe(true);
    // A second kit replaces the first.
    const kit2 = JSON.parse((await cli(A, ['recovery-kit', '--json'])).stdout).recoveryKey;
    expect(kit2).not.toBe(recoveryKey);
    const S = { home: join(dir.path, 'hs'), root: join(dir.path, 'rs') };
    await mkdir(S.root);
    expect((await cli(S, ['join', '--root', S.root, '--remote', remote, '--recovery-key-stdin'], recoveryKey + '\n')).code).toBe(4);
  });

  it('rotate-key, devices, revoke and verify --device through the CLI; password and recovery still open the new epoch', async () => {
    const rot = await cli(A, ['rotate-key', '--reencrypt', '--json']);
    expect(rot.code, rot.stderr).toBe(0);
    const rj = JSON.parse(rot.stdout);
    expect(rj.epoch).toBe(2);
    expect(rj.reencrypt.rewritten).toBeGreaterThan(0);
    const devs = await cli(A, ['devices', '--json']);
    expect(devs.code, devs.stderr).toBe(0);
    const list = JSON.parse(devs.stdout) as { epoch: number; devices: Array<{ id: string; name: string; status: string; thisDevice: boolean; fingerprint: string }> };
    expect(list.epoch).toBe(2);
    expect(list.devices.every((d) => d.status === 'active')).toBe(true);
    const bId = JSON.parse((await cli(B, ['status', '--json'])).stdout).device.id as string;
    expect(list.devices.some((d) => d.id === bId)).toBe(true);
    const proof = await cli(A, ['verify', '--device', '--json']);
    expect(proof.code, proof.stderr).toBe(0);
    expect(JSON.parse(proof.stdout).ok).toBe(true);
    const rev = await cli(A, ['revoke', bId, '--json']);
    expect(rev.code, rev.stderr).toBe(0);
    expect(JSON.parse(rev.stdout)).toMatchObject({ device: { id: bId }, epoch: 3 });
    const again = await cli(A, ['revoke', bId]);
    expect(again.code).toBe(2);
    const unknown = await cli(A, ['revoke', '0123456789abcdef']);
    expect(unknown.code).toBe(2);
    const b = await cli(B, ['sync']);
    expect(b.code).toBe(4);
    expect(b.stderr).toMatch(/revoked/);
    // The password (changed to new-pw above) and the newest recovery kit open epoch 3.
    const P = { home: join(dir.path, 'hp'), root: join(dir.path, 'rp') };
    await mkdir(P.root);
    expect((await cli(P, ['join', '--root', P.root, '--remote', remote, '--password-stdin'], 'new-pw\n')).code).toBe(0);
    expect((await cli(P, ['sync'])).code).toBe(0);
    expect(treesEqual(await readTree(A.root), await readTree(P.root))).toBe(true);
    const kit = JSON.parse((await cli(A, ['recovery-kit', '--json'])).stdout).recoveryKey as string;
    const Q = { home: join(dir.path, 'hq'), root: join(dir.path, 'rq') };
    await mkdir(Q.root);
    expect((await cli(Q, ['join', '--root', Q.root, '--remote', remote, '--recovery-key-stdin'], kit + '\n')).code).toBe(0);
    expect((await cli(Q, ['sync'])).code).toBe(0);
    expect(treesEqual(await readTree(A.root), await readTree(Q.root))).toBe(true);
  });
});
