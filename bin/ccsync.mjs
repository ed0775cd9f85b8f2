#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/ccsync.mjs', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('ccsync: the CLI is not built yet; run `npm run build:cli` first\n');
  process.exit(1);
}
// Overlapping fsyncs of many small files need more than libuv's default 4 threads.
process.env.UV_THREADPOOL_SIZE ??= '16';
// The pinned AWS SDK warns once per process that later releases need Node 22; not the user's concern.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import(bundle);
process.exitCode = await main(process.argv.slice(2));
