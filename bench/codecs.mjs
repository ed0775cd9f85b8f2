#!/usr/bin/env node
// `node bench/codecs.mjs` (part of `npm run bench`): the per-chunk compression codecs of issue #4.
//   1. compressChunk / decompressChunk throughput (MB of raw data per second, one core) and ratio
//      (raw / stored) per codec, on a deterministic ~/.claude-like text set (64 MiB: session
//      transcripts, Markdown, JSON) and on 64 MiB of random data, plus a brotli quality sweep;
//      bench/codecsBench.ts, bundled with esbuild like bench/queue.mjs and run in fresh processes.
//   2. End to end: per codec and set, `ccsync init --compression <codec>` on a folder remote in a
//      temp dir, then one `ccsync sync --json` pushing the set; MB/s = raw bytes / the sync's own
//      durationMs. zstd rows appear only where the runtime has zstd (Node >= 22.15, Electron >= 39).
// CODECS_BENCH_RUNS=<n> (default 5): end-to-end pushes per codec and set (median reported).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { bundleNode } from '../scripts/bundle.mjs';

const RUNS = Number(process.env.CODECS_BENCH_RUNS ?? 5);
// Inside the project, so the bundle's external imports resolve from node_modules.
const outdir = join(process.cwd(), 'dist', 'bench');
await bundleNode({ codecsBench: 'bench/codecsBench.ts' }, outdir);
if (!existsSync(join(process.cwd(), 'dist', 'ccsync.mjs'))) run(['scripts/build-cli.mjs']);
const codecs = ['none', 'deflate', 'brotli', ...(typeof zlib.zstdCompressSync === 'function' ? ['zstd'] : [])];
console.log(`machine: ${cpus()[0]?.model} ×${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; zstd ${codecs.includes('zstd') ? 'available' : 'not available in this runtime'}`);

function run(args, env = {}) {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
    process.exit(1);
  }
  return r.stdout;
}

async function treeBytes(dir) {
  let n = 0;
  for (const ent of await readdir(dir, { withFileTypes: true, recursive: true })) if (ent.isFile()) n += (await stat(join(ent.parentPath, ent.name))).size;
  return n;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mb = (x) => x.toFixed(0).padStart(8);

const work = await mkdtemp(join(tmpdir(), 'ccs-bench-codecs-'));
try {
  const data = join(work, 'data');
  run([join(outdir, 'codecsBench.mjs'), '--write', data]);

  console.log('\ncompressChunk / decompressChunk, default CDC chunks (64 KiB–1 MiB), one core, median of 3');
  console.log(`${'set'.padEnd(7)} ${'codec'.padEnd(8)} ${'ratio'.padStart(6)} ${'compress'.padStart(8)} ${'decomp.'.padStart(8)}  (MB/s of raw data)  chunks stored compressed`);
  const micro = run([join(outdir, 'codecsBench.mjs'), '--micro', data]).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  for (const r of micro) {
    // 'none' copies nothing, and a set whose chunks all stayed uncompressed decodes nothing: no figure.
    const speed = `${r.codec === 'none' ? '-'.padStart(8) : mb(r.compressMBs)} ${r.compressedChunks === 0 ? '-'.padStart(8) : mb(r.decompressMBs)}`;
    console.log(`${r.set.padEnd(7)} ${r.codec.padEnd(8)} ${r.ratio.toFixed(2).padStart(6)} ${speed}  ${' '.repeat(18)}  ${r.compressedChunks}/${r.chunks}`);
  }

  console.log('\nbrotli quality sweep on the text chunks (raw encoder, size hint = chunk length), one core, median of 3');
  for (const r of run([join(outdir, 'codecsBench.mjs'), '--brotli-sweep', data]).split('\n').filter(Boolean).map((l) => JSON.parse(l))) {
    console.log(`${r.variant.padEnd(16)} ${r.ratio.toFixed(2).padStart(6)} ${mb(r.compressMBs)} ${mb(r.decompressMBs)}`);
  }

  console.log(`\nccsync init --compression <codec> + sync --json, folder remote in ${tmpdir()}, median of ${RUNS}`);
  console.log(`${'set'.padEnd(7)} ${'codec'.padEnd(8)} ${'push MB/s'.padStart(9)} ${'seconds'.padStart(8)} ${'uploaded MiB'.padStart(13)} ${'of raw MiB'.padStart(11)}`);
  // No OS keychain: every run gives the password, so the bench never touches the user's keyring.
  const env = { CCSYNC_PASSWORD: 'bench-password', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' };
  for (const set of ['text', 'random']) {
    const raw = await treeBytes(join(data, set));
    for (const codec of codecs) {
      const samples = [];
      for (let i = 0; i < RUNS; i++) {
        const base = join(work, `${set}-${codec}-${i}`);
        const root = join(base, 'root');
        await mkdir(base);
        await cp(join(data, set), root, { recursive: true });
        run(['bin/ccsync.mjs', '--home', join(base, 'home'), 'init', '--root', root, '--remote', join(base, 'remote'), '--compression', codec], env);
        samples.push(JSON.parse(run(['bin/ccsync.mjs', '--home', join(base, 'home'), 'sync', '--json'], env)));
        await rm(base, { recursive: true, force: true });
      }
      const ms = median(samples.map((s) => s.durationMs));
      const up = median(samples.map((s) => s.bytesUploaded));
      console.log(`${set.padEnd(7)} ${codec.padEnd(8)} ${mb(raw / 1e6 / (ms / 1000)).padStart(9)} ${(ms / 1000).toFixed(2).padStart(8)} ${(up / 2 ** 20).toFixed(1).padStart(13)} ${(raw / 2 ** 20).toFixed(1).padStart(11)}`);
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
