#!/usr/bin/env node
// `node bench/crdt.mjs [filter]`: bundles bench/crdtBench.ts with esbuild (like bench/run.mjs) and
// runs each CRDT scenario in a fresh process with a time limit, then prints one table.
// A scenario over the limit is stopped and reported with the last progress it printed.
import { spawn } from 'node:child_process';
import { bundleNode } from '../scripts/bundle.mjs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

const LIMIT_MS = 60_000;
const outdir = join(process.cwd(), 'dist', 'bench');
await bundleNode({ crdtBench: 'bench/crdtBench.ts' }, outdir);
const { CRDT_SCENARIOS } = await import(join(outdir, 'crdtBench.mjs'));
const scenarios = Object.keys(CRDT_SCENARIOS).filter((s) => !process.argv[2] || s.includes(process.argv[2]));

function run(scenario) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=8192', join(outdir, 'crdtBench.mjs'), '--scenario', scenario], { stdio: ['ignore', 'pipe', 'pipe'] });
    const rows = [];
    let last = 'started';
    let stderr = '';
    let buffered = '';
    const started = performance.now();
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.stdout.on('data', (d) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines.filter(Boolean)) {
        const row = JSON.parse(line);
        if (row.progress) last = row.what;
        else rows.push(row);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      if (signal === 'SIGKILL') rows.push({ scenario, step: `>${LIMIT_MS / 1000} s, stopped`, note: `reached: ${last}` });
      else if (code !== 0) rows.push({ scenario, step: 'failed', note: stderr.split('\n').slice(0, 3).join(' ') });
      resolve({ rows, seconds });
    });
  });
}

const fmtBytes = (b) => (b === undefined ? '' : b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} kB`);
console.log(`machine: ${cpus()[0]?.model} ×${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
console.log(`time: fastest of 5 runs (median in brackets); sizes: encoded state, and raw DEFLATE level 1 of it`);
console.log(`${'scenario'.padEnd(32)} ${'step'.padEnd(48)} ${'time'.padStart(19)} ${'encoded'.padStart(10)} ${'deflated'.padStart(10)}  note`);
for (const s of scenarios) {
  const { rows } = await run(s);
  for (const r of rows) {
    const time = r.seconds === undefined ? '' : `${r.seconds.toFixed(3)} s` + (r.runs > 1 ? ` (${r.medianSeconds.toFixed(3)})` : '');
    console.log(`${r.scenario.padEnd(32)} ${r.step.padEnd(48)} ${time.padStart(19)} ${fmtBytes(r.bytes).padStart(10)} ${fmtBytes(r.deflated).padStart(10)}  ${r.note ?? ''}`);
  }
}
