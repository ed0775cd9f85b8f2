#!/usr/bin/env node
// `npm run bench`: bundles the engine benchmark with esbuild (plus the crypto worker it uses) and
// runs each scenario in a fresh process. Optional argument: a substring of the scenarios to run
// (e.g. `npm run bench -- 5,000`).
import { spawnSync } from 'node:child_process';
import { bundleNode } from '../scripts/bundle.mjs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

// Inside the project, so the bundle's external imports resolve from node_modules.
const outdir = join(process.cwd(), 'dist', 'bench');
await bundleNode({ engineBench: 'bench/engineBench.ts', cryptoWorker: 'core/crypto/cryptoWorker.ts' }, outdir);
// Optional arguments: a substring of the scenario names, then the remotes (default: all three).
const scenarios = ['1 GiB random file', '5,000 small files'].filter((s) => !process.argv[2] || process.argv[2] === 'all' || s.includes(process.argv[2]));
const remotes = process.argv[3] ? process.argv[3].split(',') : ['folder', 'webdav', 's3'];
console.log(`machine: ${cpus()[0]?.model} ×${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
let failed = false;
for (const kind of remotes) for (const s of scenarios) {
  const r = spawnSync(process.execPath, ['--expose-gc', join(outdir, 'engineBench.mjs'), '--scenario', s, kind], { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  if (r.status !== 0) {
    failed = true;
    console.error(`${s}: failed\n${r.stderr}`);
    continue;
  }
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const row = JSON.parse(line);
    console.log(
      `${row.scenario.padEnd(42)} ${row.seconds.toFixed(2).padStart(7)} s` +
        (row.mbPerSec !== undefined ? ` ${row.mbPerSec.toFixed(0).padStart(6)} MB/s` : '            ') +
        (row.filesPerSec !== undefined ? ` ${row.filesPerSec.toFixed(0).padStart(7)} files/s` : '               ') +
        `  peak RSS ${row.peakRssMiB.toFixed(0).padStart(4)} MiB (at start ${row.baseRssMiB?.toFixed(0) ?? '-'})  uploaded ${row.bytesUploaded} B`,
    );
  }
}
process.exit(failed ? 1 : 0);
