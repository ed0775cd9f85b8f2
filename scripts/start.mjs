#!/usr/bin/env node
// `npm start`: builds and starts the product on its embedded default, a local folder remote.
// With an Electron binary present it opens the desktop app; without one (headless machines, or
// where the binary could not be downloaded) it runs the same core through the CLI: set up
// ~/.claude against the folder vault ~/CCSyncVault on first run, then sync and show the status.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: 'inherit', ...opts }).status ?? 1;

function electronBinary() {
  try {
    const p = createRequire(import.meta.url)('electron');
    return typeof p === 'string' && existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

if (run('npm', ['run', '--silent', 'build:cli']) !== 0) process.exit(1);
const electron = electronBinary();
if (electron && !process.env.CCSYNC_NO_GUI) {
  if (run('npm', ['run', '--silent', 'build:app']) !== 0) process.exit(1);
  process.exit(run(electron, ['.']));
}

console.log('Electron binary not available: running CCJK Cloud Sync through its CLI (same core).');
const home = process.env.CCSYNC_HOME ?? join(homedir(), '.ccsync');
const cli = (args, opts) => run(process.execPath, ['bin/ccsync.mjs', '--home', home, ...args], opts);
if (!existsSync(join(home, 'device.json'))) {
  const root = process.env.CCSYNC_ROOT ?? join(homedir(), '.claude');
  const remote = process.env.CCSYNC_REMOTE ?? join(homedir(), 'CCSyncVault');
  if (!existsSync(root)) {
    console.error(`No ${root} to sync yet. Create it (or set CCSYNC_ROOT) and run npm start again.`);
    process.exit(1);
  }
  console.log(`First run: creating an encrypted vault for ${root} in the folder ${remote}.`);
  console.log('Choose a vault password; other devices join with: ccsync join --root ~/.claude --remote <same folder>');
  const code = cli(['init', '--root', root, '--remote', remote]);
  if (code !== 0) process.exit(code);
}
const code = cli(['sync']);
cli(['status']);
process.exit(code);
