#!/usr/bin/env node
// `npm run bench`: bundles the engine benchmark with esbuild and prints a table.
// Optional argument: a substring of the scenario to run (e.g. `npm run bench -- 5,000`).
import { build } from 'esbuild';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// Inside the project, so the bundle's external imports resolve from node_modules.
const out = join(process.cwd(), 'dist', 'bench', 'engineBench.mjs');
await build({ entryPoints: { engineBench: 'bench/engineBench.ts', cryptoWorker: 'core/crypto/cryptoWorker.ts' }, outdir: join(process.cwd(), 'dist', 'bench'), outExtension: { '.js': '.mjs' }, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
const { runEngineBench } = await import(pathToFileURL(out).href);
console.log(`machine: ${cpus()[0]?.model} ×${cpus().length}, node ${process.version}`);
const rows = await runEngineBench(process.argv[2]);
for (const r of rows) {
  console.log(
    `${r.scenario.padEnd(32)} ${r.seconds.toFixed(2).padStart(7)} s` +
      (r.mbPerSec !== undefined ? ` ${r.mbPerSec.toFixed(0).padStart(6)} MB/s` : '            ') +
      (r.filesPerSec !== undefined ? ` ${r.filesPerSec.toFixed(0).padStart(7)} files/s` : '               ') +
      `  peak RSS ${r.peakRssMiB.toFixed(0)} MiB  uploaded ${r.bytesUploaded} B`,
  );
}
