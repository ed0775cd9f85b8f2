#!/usr/bin/env node
// `node bench/queue.mjs`: the operation queue's throughput against raw better-sqlite3 at the same
// synchronous level (issue #4's target: the queue reaches ≥ 50% of raw). Bundles bench/queueBench.ts
// with esbuild like bench/run.mjs and runs it in a fresh process. QUEUE_BENCH_ROUNDS=<n> (default 5).
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { bundleNode } from '../scripts/bundle.mjs';

// Inside the project, so the bundle's external imports (better-sqlite3) resolve from node_modules.
const outdir = join(process.cwd(), 'dist', 'bench');
await bundleNode({ queueBench: 'bench/queueBench.ts' }, outdir);
console.log(`machine: ${cpus()[0]?.model} ×${cpus().length}, node ${process.version}, temp dir on the project's disk`);
const r = spawnSync(process.execPath, [join(outdir, 'queueBench.mjs')], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
if (r.status !== 0) process.exit(r.status ?? 1);
const rows = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const byName = new Map(rows.map((row) => [row.name, row]));
// The raw baseline with the same guarantee: an acknowledged enqueue survives power loss only at FULL.
const baselineOf = (name) => (name.includes('crash-only') || name.includes('NORMAL') ? 'raw WAL+NORMAL' : 'raw WAL+FULL');
const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(9);
for (const row of rows) {
  const base = byName.get(baselineOf(row.name));
  const ratio = row.name.startsWith('raw') ? '' : `  ${((row.median / base.median) * 100).toFixed(0).padStart(4)}% of ${base.name}`;
  console.log(`${row.name.padEnd(42)} ${fmt(row.median)} ${row.unit.padEnd(7)} (min ${fmt(row.min).trim()}, max ${fmt(row.max).trim()})${ratio}`);
}
