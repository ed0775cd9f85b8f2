import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SecretStore } from '../keychain/keychain';
import type { Remote } from '../remotes/remote';
import { openSession, type DeviceSession } from '../engine/session';
import { initDevice, joinDevice } from '../engine/setup';
import { runSync, type SyncOptions, type SyncReport } from '../engine/sync';


const CLI = fileURLToPath(new URL('../../bin/ccsync.mjs', import.meta.url));

export async function tempDir(prefix = 'ccsync-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/**
 * An in-process secret store for engine tests, which run many devices and need no OS keychain.
 * The real keychain is exercised by the CLI tests and core/keychain tests.
 */
export class MemorySecretStore implements SecretStore {
  readonly kind = 'memory';
  private readonly m = new Map<string, string>();
  async get(a: string) {
    return this.m.get(a) ?? null;
  }
  async set(a: string, s: string) {
    this.m.set(a, s);
  }
  async delete(a: string) {
    this.m.delete(a);
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `ccsync` CLI as a child process, as a user or script would. */
export function runCli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, CCSYNC_PASSWORD: undefined, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Every file under root (except the root marker) with its bytes, keyed by relative path. */
export async function readTree(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  async function walk(rel: string): Promise<void> {
    for (const ent of await readdir(join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) await walk(p);
      else if (p !== '.ccsync-root') out.set(p, await readFile(join(root, p)));
    }
  }
  await walk('');
  return out;
}

export function treesEqual(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!b.get(k)?.equals(v)) return false;
  return true;
}

/** One device of an engine-level test: its home, root and an open session per operation. */
export class TestDevice {
  constructor(
    readonly home: string,
    readonly root: string,
    readonly store: SecretStore,
    /** Decorates the device's remote on every session (fault injection). */
    public wrapRemote?: (remote: Remote) => Remote,
  ) {}

  async session(): Promise<DeviceSession> {
    return openSession(this.home, { secretStore: this.store, ...(this.wrapRemote ? { wrapRemote: this.wrapRemote } : {}) });
  }

  async sync(opts: SyncOptions = {}): Promise<SyncReport> {
    const s = await this.session();
    try {
      return await runSync(s, opts);
    } finally {
      s.close();
    }
  }
}

export const TEST_PASSWORD = 'correct horse battery staple';

/** Creates a vault on `remote` with one device per name; the first one inits, the rest join. */
export async function makeDevices(base: string, remote: string, count: number): Promise<TestDevice[]> {
  const store = new MemorySecretStore();
  const devices: TestDevice[] = [];
  for (let i = 0; i < count; i++) {
    const home = join(base, `home${i}`);
    const root = join(base, `root${i}`);
    await mkdir(root, { recursive: true });
    const o = { home, root, remote, password: TEST_PASSWORD, deviceName: `dev${i}`, secretStore: store };
    if (i === 0) await initDevice(o);
    else await joinDevice(o);
    devices.push(new TestDevice(home, root, store));
  }
  return devices;
}
