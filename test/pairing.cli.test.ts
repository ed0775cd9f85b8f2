import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTree, runCli, tempDir, treesEqual } from '../core/test-support/vaultHarness';

// Issue #6: `ccsync pair` on a trusted device and `ccsync join --pair CODE` on a new one, through
// the real CLI, the real OS keychain and a real folder remote; and a tampered exchange refused.
const hasKeychain = !!process.env.DBUS_SESSION_BUS_ADDRESS;
const CLI = fileURLToPath(new URL('../bin/ccsync.mjs', import.meta.url));

/** Starts `ccsync pair --json --yes`; resolves the code once printed, and the exit later. */
function startPair(home: string): { code: Promise<string>; exit: Promise<{ code: number; lines: unknown[]; stderr: string }>; kill: () => void } {
  const child = spawn(process.execPath, [CLI, '--home', home, 'pair', '--json', '--yes', '--ttl', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  let gotCode: (c: string) => void = () => {};
  const code = new Promise<string>((resolve) => (gotCode = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const first = out.split('\n')[0];
    if (out.includes('\n') && first) gotCode((JSON.parse(first) as { code: string }).code);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number; lines: unknown[]; stderr: string }>((resolve) =>
    child.on('close', (c) => resolve({ code: c ?? -1, lines: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown), stderr })),
  );
  return { code, exit, kill: () => child.kill('SIGKILL') };
}

async function pairObjects(remote: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(join(remote, 'pair')).catch(() => [] as string[])) for (const f of await readdir(join(remote, 'pair', d))) out.push(`${d}/${f}`);
  return out;
}

describe.runIf(hasKeychain)('pairing through the CLI', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let remote = '';
  const A = { home: '', root: '' };
  beforeAll(async () => {
    dir = await tempDir('ccsync-pair-');
    remote = join(dir.path, 'remote');
    Object.assign(A, { home: join(dir.path, 'ha'), root: join(dir.path, 'ra') });
    await mkdir(A.root);
    expect((await runCli(['--home', A.home, 'init', '--root', A.root, '--remote', remote, '--password-stdin'], { input: 'pw\n' })).code).toBe(0);
    await writeFile(join(A.root, 'CLAUDE.md'), '# shared\n');
    expect((await runCli(['--home', A.home, 'sync'])).code).toBe(0);
  });
  afterAll(() => dir.cleanup());

  it('a new device joins with the code alone (no password), both show the same security code, and it syncs', async () => {
    const pair = startPair(A.home);
    const code = await pair.code;
    expect(code).toMatch(/^PAIR-/);
    const B = { home: join(dir.path, 'hb'), root: join(dir.path, 'rb') };
    await mkdir(B.root);
    const j = await runCli(['--home', B.home, 'join', '--root', B.root, '--remote', remote, '--pair', code, '--device-name', 'laptop']);
    expect(j.code, j.stderr).toBe(0);
    const a = await pair.exit;
    expect(a.code, a.stderr).toBe(0);
    const result = a.lines[1] as { paired: { id: string; name: string; sas: string } };
    expect(result.paired.name).toBe('laptop');
    expect(j.stderr).toContain(`Security code: ${result.paired.sas.slice(0, 3)} ${result.paired.sas.slice(3)}`);
    expect((await runCli(['--home', B.home, 'sync'])).code).toBe(0);
    expect(treesEqual(await readTree(A.root), await readTree(B.root))).toBe(true);
    const devices = JSON.parse((await runCli(['--home', B.home, 'devices', '--json'])).stdout) as { devices: Array<{ id: string; status: string }> };
    expect(devices.devices.find((d) => d.id === result.paired.id)?.status).toBe('active');
    expect(await pairObjects(remote)).toEqual([]); // the exchange is cleaned up
  });

  it('a pairing offer modified on the remote is refused and the new device gets nothing', async () => {
    const pair = startPair(A.home);
    const code = await pair.code;
    const offers = (await pairObjects(remote)).filter((n) => n.endsWith('/offer'));
    expect(offers).toHaveLength(1);
    const offerFile = join(remote, 'pair', offers[0]!);
    const env = JSON.parse(await readFile(offerFile, 'utf8')) as { body: string };
    const tampered = env.body.replace(/"fromName":"[^"]*"/, '"fromName":"attacker"');
    expect(tampered).not.toBe(env.body);
    env.body = tampered;
    await writeFile(offerFile, JSON.stringify(env));
    const C = { home: join(dir.path, 'hc'), root: join(dir.path, 'rc') };
    await mkdir(C.root);
    const j = await runCli(['--home', C.home, 'join', '--root', C.root, '--remote', remote, '--pair', code]);
    expect(j.code).toBe(1);
    expect(j.stderr).toMatch(/PAIRING_TAMPERED/);
    await expect(readFile(join(C.home, 'device.json'))).rejects.toThrow();
    pair.kill();
    await pair.exit;
    // A wrong code (valid form) is refused the same way.
    const again = startPair(A.home);
    const good = await again.code;
    const body = good.replace(/^PAIR-/, '').replace(/-/g, '');
    const wrongCode = `PAIR-${body.slice(0, 8)}${body[8] === 'A' ? 'B' : 'A'}${body.slice(9)}`;
    const w = await runCli(['--home', C.home, 'join', '--root', C.root, '--remote', remote, '--pair', wrongCode]);
    expect(w.code).not.toBe(0);
    expect(w.stderr).toMatch(/PAIRING_TAMPERED|USAGE/);
    again.kill();
    await again.exit;
  });
});
