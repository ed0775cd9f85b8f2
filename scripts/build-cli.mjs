#!/usr/bin/env node
// Bundles the CLI (core/cli/main.ts and everything it imports from core/) into dist/ccsync.mjs,
// with the crypto worker next to it, where core/crypto/cryptoOffload.ts looks for it.
import { bundleNode } from './bundle.mjs';

await bundleNode({ ccsync: 'core/cli/main.ts', cryptoWorker: 'core/crypto/cryptoWorker.ts' }, 'dist', { sourcemap: 'linked' });
