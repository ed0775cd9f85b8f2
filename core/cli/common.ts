import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CcsError } from '../common/errors';
import { acquireHomeLock } from '../engine/homeLock';
import { openSession, type DeviceSession } from '../engine/session';
import { promptHidden, readStdinLines } from './io';

/** Helpers every command file shares (core/cli/main.ts and the *Commands.ts files). */
interface Globals {
  home?: string;
}

export function homeOf(cmd: Command): string {
  const g = cmd.optsWithGlobals<Globals>();
  return resolve(g.home ?? process.env.CCSYNC_HOME ?? join(homedir(), '.ccsync'));
}

export async function passwordFrom(opts: { passwordStdin?: boolean }, required: boolean, confirm = false): Promise<string | undefined> {
  if (opts.passwordStdin) return (await readStdinLines(1))[0];
  if (process.env.CCSYNC_PASSWORD !== undefined) return process.env.CCSYNC_PASSWORD;
  if (!required) return undefined;
  const pw = await promptHidden('Vault password: ');
  if (confirm && (await promptHidden('Repeat password: ')) !== pw) throw new CcsError('USAGE', 'the passwords do not match');
  return pw;
}

export function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(value) + '\n' : text + '\n');
}

export async function withSession<T>(cmd: Command, opts: { passwordStdin?: boolean }, fn: (s: DeviceSession) => Promise<T>, knownPassword?: string): Promise<T> {
  const home = homeOf(cmd);
  const password = knownPassword ?? (await passwordFrom(opts, false));
  const release = await acquireHomeLock(home);
  try {
    const s = await openSession(home, password !== undefined ? { password } : {});
    try {
      return await fn(s);
    } finally {
      s.close();
    }
  } finally {
    await release();
  }
}

