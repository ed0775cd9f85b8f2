#!/usr/bin/env node
// Resume overhead after kill -9 (issue #4): a 256 MiB random file is pushed to a folder remote
// once without interruption, then again with the sync killed at 40/60/80% of the clean time and
// restarted. Reports the bytes sent again (total uploaded − clean upload) and the time lost
// (time until the kill + the restarted sync − the clean time). Uses the built CLI (npm run build:cli).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(process.cwd(), 'bin', 'ccsync.mjs');
const SIZE = Number(process.env.RESUME_BENCH_MIB ?? 256) << 20;
const env = { ...process.env, CCSYNC_PASSWORD: 'bench', DBUS_SESSION_BUS_ADDRESS: '' };

function cli(args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ccsync ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function remoteBytes(remote) {
  let total = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else total += statSync(join(d, e.name)).size;
    }
  };
  try {
    walk(join(remote, 'data'));
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  return total;
}

function fresh() {
  const base = mkdtempSync(join(tmpdir(), 'ccsync-resume-'));
  const home = join(base, 'home');
  const root = join(base, 'root');
  const remote = join(base, 'remote');
  mkdirSync(root);
  cli(['--home', home, 'init', '--root', root, '--remote', remote]);
  const fd = openSync(join(root, 'big.bin'), 'w');
  for (let i = 0; i < SIZE >> 20; i++) writeSync(fd, randomBytes(1 << 20));
  closeSync(fd);
  return { base, home, remote };
}

function timedSync(home, killAfterMs) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, '--home', home, 'sync', '--json'], { env, stdio: 'ignore' });
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ ms: performance.now() - t0, killed: signal === 'SIGKILL', code });
    });
  });
}

console.log(`machine: ${cpus()[0]?.model} ×${cpus().length}, node ${process.version}; file ${SIZE >> 20} MiB, folder remote`);
const clean = fresh();
const c = await timedSync(clean.home);
const cleanBytes = remoteBytes(clean.remote);
rmSync(clean.base, { recursive: true, force: true });
console.log(`clean push: ${(c.ms / 1000).toFixed(2)} s, ${cleanBytes} B on the remote`);
for (const fraction of [0.4, 0.6, 0.8]) {
  const v = fresh();
  const first = await timedSync(v.home, Math.round(c.ms * fraction));
  const before = remoteBytes(v.remote);
  const second = await timedSync(v.home);
  const after = remoteBytes(v.remote);
  // Packs written before the kill but not recorded are sent again; they stay as garbage on the remote.
  const resent = after - cleanBytes;
  console.log(
    `kill at ${(fraction * 100).toFixed(0)}%: ${first.killed ? 'killed' : 'finished before the kill'}; on remote at kill ${before} B; ` +
      `restart ${(second.ms / 1000).toFixed(2)} s (exit ${second.code}); re-sent ${resent} B (${(resent / 2 ** 20).toFixed(1)} MiB); ` +
      `time lost ${((first.ms + second.ms - c.ms) / 1000).toFixed(2)} s`,
  );
  rmSync(v.base, { recursive: true, force: true });
}
