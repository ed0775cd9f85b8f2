// The one esbuild setup for Node bundles (CLI, crypto worker, benchmarks). npm packages stay
// external: native modules must load from node_modules, so bundles live inside the project.
import { build } from 'esbuild';

export async function bundleNode(entryPoints, outdir, extra = {}) {
  await build({
    entryPoints,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    ...extra,
  });
  return outdir;
}
