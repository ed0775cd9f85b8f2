import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../core/common/prng';
import { decryptObject, HEADER_LENGTH, readHeaderEpoch } from '../core/crypto/stream';
import { names } from '../core/engine/format';
import { openSession } from '../core/engine/session';
import { runSync } from '../core/engine/sync';
import { FolderRemote } from '../core/remotes/folder/FolderRemote';
import { readTree, runCli, tempDir, treesEqual } from '../core/test-support/vaultHarness';

// Issue #6: `rotate-key --reencrypt` over a vault of 10,000 objects, killed with SIGKILL at random
// points at least 20 times (200 on soak). After every kill every object still opens with the key
// chain; at the end every object is under the new epoch, nothing old is left, the vault verifies,
// and a new device restores a byte-identical tree.
const KILLS = Number(process.env.CCSYNC_REENCRYPT_KILLS ?? (process.env.CCSYNC_SOAK ? 200 : 20));
const FILES = 9_998; // + 1 log entry + 1 head = 10,000 objects
const PASSWORD = 'reencrypt crash test';
const CLI = fileURLToPath(new URL('../bin/ccsync.mjs', import.meta.url));
const env = { ...process.env, CCSYNC_PASSWORD: PASSWORD };

function runAndKill(args: string[], ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore', env });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve(signal === 'SIGKILL');
    });
  });
}

describe('re-encryption survives SIGKILL', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('ccsync-reencrypt-');
  });
  afterAll(() => dir.cleanup());

  it(`10,000 objects, ${KILLS} kills: resumes, every object decrypts, old ciphertext gone`, { timeout: 1_800_000 }, async () => {
    const A = { home: join(dir.path, 'ha'), root: join(dir.path, 'ra') };
    const B = { home: join(dir.path, 'hb'), root: join(dir.path, 'rb') };
    const remote = join(dir.path, 'remote');
    await mkdir(A.root, { recursive: true });
    await mkdir(B.root, { recursive: true });
    expect((await runCli(['--home', A.home, 'init', '--root', A.root, '--remote', remote, '--password-stdin'], { input: `${PASSWORD}\n` })).code).toBe(0);
    for (let d = 0; d < 100; d++) {
      await mkdir(join(A.root, `skills/s${d}`), { recursive: true });
      for (let i = 0; i < 100 && d * 100 + i < FILES; i++) await writeFile(join(A.root, `skills/s${d}/f${i}.md`), `# skill ${d}/${i}\n`);
    }
    // One pack per file (as if each had been synced on its own): a vault of many small objects.
    const s = await openSession(A.home, { password: PASSWORD });
    try {
      s.manifest.packSize = 1;
      await runSync(s);
    } finally {
      s.close();
    }
    const fr = new FolderRemote(remote);
    const objects = async () => {
      const out: string[] = [];
      for (const p of ['data/', 'log/', 'head/']) for (const o of await fr.list(p)) out.push(o.name);
      return out;
    };
    expect((await objects()).length).toBe(10_000);

    const seed = Math.floor(Math.random() * 1e9);
    const rnd = mulberry32(seed);
    let kills = 0;
    let runs = 0;
    // The epoch being re-encrypted. A run that finishes before it is killed starts the next round
    // (another rotation), so there are always ≥ KILLS kills in the middle of a re-encryption.
    let target = 2;
    let rounds = 1;
    const started = Date.now();
    while (kills < KILLS && runs < KILLS * 10) {
      runs++;
      const rotated = (await fr.stat(names.epoch(target))) !== null;
      const killed = await runAndKill(['--home', A.home, 'rotate-key', rotated ? '--resume' : '--reencrypt', '--json'], 250 + Math.floor(rnd() * 750));
      if (!killed) {
        expect(await fr.stat(names.epoch(target)), `run ${runs} finished without creating epoch ${target}`).not.toBeNull();
        target++;
        rounds++;
        continue;
      }
      kills++;
      // Whatever the kill interrupted, a sample of objects opens with the key chain as it is now.
      const probe = await openSession(A.home, { password: PASSWORD });
      try {
        const all = await objects();
        expect(all.length).toBe(10_000);
        for (let i = 0; i < 100; i++) {
          const name = all[Math.floor(rnd() * all.length)]!;
          expect(() => decryptObject(readFileBuffer(remote, name), name, (e) => probe.keys.epochs.get(e)), `${name} after kill ${kills} (seed ${seed})`).not.toThrow();
        }
      } finally {
        probe.close();
      }
    }
    const finalStart = Date.now();
    const last = await runCli(['--home', A.home, 'rotate-key', (await fr.stat(names.epoch(target))) ? '--resume' : '--reencrypt', '--json'], { env });
    expect(last.code, last.stderr).toBe(0);
    console.log(`re-encryption (seed ${seed}): ${kills} kills in ${runs} runs over ${rounds} rotations, ${((Date.now() - started) / 1000).toFixed(1)} s in all; the last run took ${((Date.now() - finalStart) / 1000).toFixed(1)} s: ${last.stdout.trim()}`);
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    expect(await fr.stat(names.epoch(target + 1))).toBeNull(); // resuming never started another epoch

    const check = await openSession(A.home, { password: PASSWORD });
    try {
      expect(check.keys.currentEpoch).toBe(target);
      const all = await objects();
      expect(all.length).toBe(10_000);
      const stale = all.filter((n) => readHeaderEpoch(readFileBuffer(remote, n).subarray(0, HEADER_LENGTH)) !== target);
      expect(stale, 'objects still under the old key').toEqual([]);
      for (const n of all) decryptObject(readFileBuffer(remote, n), n, (e) => check.keys.epochs.get(e));
    } finally {
      check.close();
    }
    const verify = await runCli(['--home', A.home, 'verify', '--read-data', '--json'], { env });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect((await runCli(['--home', B.home, 'join', '--root', B.root, '--remote', remote, '--password-stdin'], { input: `${PASSWORD}\n` })).code).toBe(0);
    expect((await runCli(['--home', B.home, 'sync'], { env })).code).toBe(0);
    expect(treesEqual(await readTree(A.root), await readTree(B.root))).toBe(true);
  });
});

function readFileBuffer(remote: string, name: string): Buffer {
  return readFileSync(join(remote, name));
}
