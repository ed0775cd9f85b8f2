#!/usr/bin/env node
// `npm test`: runs the whole suite inside a private D-Bus session with a throwaway, unlocked
// gnome-keyring, so keychain code is tested against a real Secret Service and never touches the
// developer's own keyring. Extra arguments go to vitest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const steps = [
  'npm run build:cli',
  `npx vitest run ${args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')}`,
];
// End-to-end specs run with the full suite only (not when vitest is given a filter). The Electron
// spec needs the built app, and skips with one line where no Electron binary exists.
if (args.length === 0) steps.push('npm run --silent build:app >/dev/null', 'npx playwright test');
const inner = steps.join(' && ');

let cmd;
const dir = mkdtempSync(join(tmpdir(), 'ccsync-keyring-'));
const env = { ...process.env };
if (have('dbus-run-session') && have('gnome-keyring-daemon')) {
  for (const sub of ['data', 'runtime', 'cache', 'config']) mkdirSync(join(dir, sub));
  chmodSync(join(dir, 'runtime'), 0o700);
  Object.assign(env, {
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_RUNTIME_DIR: join(dir, 'runtime'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_CONFIG_HOME: join(dir, 'config'),
  });
  cmd = ['dbus-run-session', ['--', 'bash', '-c', `echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; ${inner}`]];
} else {
  console.log('note: dbus-run-session/gnome-keyring-daemon not found; keychain tests that need a Secret Service are skipped (apt-get install gnome-keyring dbus dbus-x11)');
  cmd = ['bash', ['-c', inner]];
}
const r = spawnSync(cmd[0], cmd[1], { stdio: 'inherit', env });
rmSync(dir, { recursive: true, force: true });
process.exit(r.status ?? 1);
