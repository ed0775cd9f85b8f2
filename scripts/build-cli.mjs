#!/usr/bin/env node
// Bundles the CLI (core/cli/main.ts and everything it imports from core/) into dist/ccsync.mjs.
// npm packages stay external: native modules (better-sqlite3, argon2, keyring) must load from
// node_modules, and bundling the rest would only hide their versions.
import { build } from 'esbuild';

await build({
  // The crypto worker sits next to the CLI bundle, where core/crypto/cryptoOffload.ts looks for it.
  entryPoints: { ccsync: 'core/cli/main.ts', cryptoWorker: 'core/crypto/cryptoWorker.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
