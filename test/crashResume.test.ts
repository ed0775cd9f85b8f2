import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../core/test-support/convergenceFuzz';
import { readTree, runCli, tempDir, treesEqual } from '../core/test-support/vaultHarness';

// kill -9 at random points of a sync: after each restart the sync completes, the remote verifies
// with --read-data, the trees are identical, the state database is intact, and the bytes sent
// again after a kill are bounded by the pack window (3 packs of 8 MiB in flight).
const hasKeychain = !!process.env.DBUS_SESSION_BUS_ADDRESS;
const KILLS = Number(process.env.CCSYNC_CRASH_KILLS ?? (process.env.CCSYNC_SOAK ? 200 : 20));
const PACK = 8 * 1024 * 1024;
const WINDOW = 3;
const CLI = fileURLToPath(new URL('../bin/ccsync.mjs', import.meta.url));

async function remotePacks(remote: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const data = join(remote, 'data');
  for (const d of await readdir(data).catch(() => [])) {
    for (const f of await readdir(join(data, d))) out.set(f, (await stat(join(data, d, f))).size);
  }
  return out;
}

function knownPacks(home: string): Set<string> {
  const db = new Database(join(home, 'state.db'), { readonly: true });
  try {
    return new Set((db.prepare('SELECT id FROM packs').all() as { id: string }[]).map((r) => r.id));
  } finally {
    db.close();
  }
}

/** Starts `ccsync sync` and kills it with SIGKILL after `ms`; resolves true if it was killed mid-run. */
function syncAndKill(home: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--home', home, 'sync', '--json'], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve(signal === 'SIGKILL');
    });
  });
}

async function writeRandom(path: string, bytes: number, seed: number): Promise<void> {
  const fh = await open(path, 'w');
  const block = randomBytes(1 << 20);
  for (let i = 0; i < bytes >> 20; i++) {
    block.writeUInt32LE(seed, 0);
    block.writeUInt32LE(i, 4);
    await fh.write(block);
  }
  await fh.close();
}

describe.runIf(hasKeychain)('crash and resume (SIGKILL at random points)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('ccsync-crash-');
  });
  afterAll(() => dir.cleanup());

  async function scenario(name: string, fill: (root: string, round: number) => Promise<void>, delay: (r: () => number) => number): Promise<void> {
    const base = join(dir.path, name);
    const A = { home: join(base, 'ha'), root: join(base, 'ra') };
    const B = { home: join(base, 'hb'), root: join(base, 'rb') };
    const remote = join(base, 'remote');
    await mkdir(A.root, { recursive: true });
    await mkdir(B.root, { recursive: true });
    expect((await runCli(['--home', A.home, 'init', '--root', A.root, '--remote', remote, '--password-stdin'], { input: 'pw\n' })).code).toBe(0);
    const seed = Math.floor(Math.random() * 1e9);
    const rnd = prng(seed);
    let kills = 0;
    let round = 0;
    const resent: number[] = [];
    while (kills < KILLS) {
      await fill(A.root, round++);
      for (let attempt = 0; attempt < 200 && kills < KILLS; attempt++) {
        const before = await remotePacks(remote);
        const killed = await syncAndKill(A.home, delay(rnd));
        if (!killed) break; // this round's data is fully synced; add more
        kills++;
        // Packs on the remote that A's state does not know are lost work: they will be sent again.
        const after = await remotePacks(remote);
        const known = knownPacks(A.home);
        let wasted = 0;
        for (const [id, size] of after) if (!before.has(id) && !known.has(id)) wasted += size;
        resent.push(wasted);
      }
    }
    const done = await runCli(['--home', A.home, 'sync', '--json']);
    expect(done.code, done.stderr).toBe(0);
    console.log(`${name} (seed ${seed}): ${kills} kills; bytes sent again after each kill: ${resent.join(', ')}`);
    for (const w of resent) expect(w).toBeLessThanOrEqual(WINDOW * (PACK + PACK / 64));
    const verify = await runCli(['--home', A.home, 'verify', '--read-data', '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout).ok).toBe(true);
    const db = new Database(join(A.home, 'state.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    expect((await runCli(['--home', B.home, 'join', '--root', B.root, '--remote', remote, '--password-stdin'], { input: 'pw\n' })).code).toBe(0);
    expect((await runCli(['--home', B.home, 'sync'])).code).toBe(0);
    expect(treesEqual(await readTree(A.root), await readTree(B.root))).toBe(true);
  }

  it(`a 256 MiB file survives ${KILLS} kills`, { timeout: 1_800_000 }, async () => {
    await scenario(
      'big',
      async (root, round) => writeRandom(join(root, `big${round}.bin`), 256 << 20, round),
      (r) => 250 + Math.floor(r() * 900),
    );
  });

  it(`a 2,000-file tree survives ${KILLS} kills`, { timeout: 1_800_000 }, async () => {
    await scenario(
      'tree',
      async (root, round) => {
        for (let d = 0; d < 20; d++) {
          await mkdir(join(root, `r${round}/d${d}`), { recursive: true });
          for (let i = 0; i < 100; i++) await writeFile(join(root, `r${round}/d${d}/f${i}.md`), `# ${round}/${d}/${i}\n${randomBytes(300).toString('hex')}\n`);
        }
      },
      (r) => 200 + Math.floor(r() * 700),
    );
  });
});
