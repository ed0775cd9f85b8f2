import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { cephConf } from './cephConf';

/**
 * A real single-node Ceph cluster (one monitor, one memstore OSD, one RADOS Gateway) in a temp dir,
 * recipe from ENVIRONMENT.md "S3-compatible". Start it once per test file (beforeAll) and share
 * it across the file's describe blocks: it takes 1-2 s here, but much longer on a loaded machine.
 * Everything it writes (config, data, sockets, logs, pid files) stays in the temp dir, and stop()
 * ends every process it started and removes the dir.
 */
export interface CephRgw {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Milliseconds from the call to a gateway answering S3 requests, for test reports. */
  startupMs: number;
  stop(): Promise<void>;
}

const REQUIRED = ['monmaptool', 'ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph'];
const INSTALL_HINT = 'apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common';

const START_DEADLINE_MS = 90_000;
const COMMAND_TIMEOUT_MS = 60_000;
// SIGTERM makes the memstore OSD write its whole store to disk before exiting; the data is
// thrown away anyway, so waiting long for that buys nothing.
const STOP_GRACE_MS = 3_000;

const ACCESS_KEY_ID = 'CCSYNCTESTACCESSKEY0';
const SECRET_ACCESS_KEY = 'ccsync-test-secret-key-not-a-real-secret-00';
const REGION = 'us-east-1';

interface Daemon {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  hasExited: boolean;
  logFile: string;
}

export async function startCephRgw(): Promise<CephRgw> {
  const started = Date.now();
  await assertInstalled();
  for (let attempt = 1; ; attempt++) {
    try {
      const rgw = await startOnce(started + START_DEADLINE_MS);
      return { ...rgw, startupMs: Date.now() - started };
    } catch (e) {
      // The ports were free when picked, but something may have taken one since: with two test
      // files starting clusters at once, a client can even reach the other cluster's monitor
      // (EPERM, fsid mismatch) without any "address in use" in the logs. A fresh cluster on
      // fresh ports is the fix; a real installation problem fails the same way three times.
      if (!(e instanceof StartFailure) || attempt >= 3) throw e;
    }
  }
}

class StartFailure extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** A daemon that died while the cluster was starting; its log is the one worth reading. */
class DaemonDied extends Error {
  constructor(readonly daemon: Daemon) {
    super(`${daemon.name} exited during startup (exit code ${daemon.child.exitCode ?? daemon.child.signalCode})`);
  }
}

async function startOnce(deadline: number): Promise<Omit<CephRgw, 'startupMs'>> {
  // Short: admin sockets are Unix sockets, whose paths are limited to ~107 bytes.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ccs-ceph-'));
  const daemons: Daemon[] = [];
  // Short-lived tools too: one waiting for a dead OSD would otherwise outlive the test run.
  const commands = new Set<ChildProcess>();
  const killOnExit = (): void => {
    for (const c of commands) c.kill('SIGKILL');
    for (const d of daemons) if (!d.hasExited) d.child.kill('SIGKILL');
  };
  // A test run that dies without afterAll must not leave a cluster running.
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    await Promise.all([...commands].map(killCommand));
    // Newest first: an OSD that still has its monitor can announce its shutdown and exit at once,
    // while without one it waits out osd_mon_shutdown_timeout.
    for (const d of [...daemons].reverse()) await stopDaemon(d);
    await fs.rm(dir, { recursive: true, force: true });
  };

  let rgw: Daemon | undefined;
  try {
    const [monPort, rgwPort] = (await freePorts(2)) as [number, number];
    const conf = path.join(dir, 'ceph.conf');
    for (const sub of ['mon', 'osd0', 'run', 'log', 'rgw', 'crash']) await fs.mkdir(path.join(dir, sub));
    const fsid = randomUUID();
    await fs.writeFile(conf, cephConf({ dir, fsid, monPort, rgwPort }));
    const env = { ...process.env, CEPH_CONF: conf };
    const run = (cmd: string, args: string[]) => runCommand(cmd, args, env, dir, commands);
    const daemon = (name: string, cmd: string, args: string[]) => spawnDaemon(name, cmd, args, env, dir, daemons);

    const monmap = path.join(dir, 'monmap');
    await run('monmaptool', ['--create', '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, '--fsid', fsid, monmap]);
    await run('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', monmap]);
    const mon = daemon('mon.a', 'ceph-mon', ['-i', 'a', '-f']);

    const osdUuid = randomUUID();
    // In a fresh cluster the first OSD is always id 0, so its mkfs need not wait for `osd new`.
    const [osdId] = await raceDaemons(
      Promise.all([
        run('ceph', ['osd', 'new', osdUuid]).then(async (out) => {
          await run('ceph', ['osd', 'crush', 'add', 'osd.0', '1.0', 'root=default']);
          return out.trim();
        }),
        run('ceph-osd', ['-i', '0', '--mkfs', '--osd-uuid', osdUuid]),
      ]),
      [mon],
    );
    if (osdId !== '0') throw new Error(`ceph osd new returned id ${JSON.stringify(osdId)}, expected 0`);
    const osd = daemon('osd.0', 'ceph-osd', ['-i', '0', '-f']);
    rgw = daemon('client.rgw.a', 'radosgw', ['-n', 'client.rgw.a', '-f']);

    // Creating the user waits for the OSD and the gateway's pools, so it overlaps their startup.
    await raceDaemons(
      run('radosgw-admin', [
        'user',
        'create',
        '--uid=ccsync-test',
        '--display-name=ccsync test',
        `--access-key=${ACCESS_KEY_ID}`,
        `--secret-key=${SECRET_ACCESS_KEY}`,
      ]),
      [mon, osd, rgw],
    );

    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await raceDaemons(waitForGateway(endpoint, deadline, rgw), [mon, osd, rgw]);
    return { endpoint, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: REGION, stop };
  } catch (e) {
    // The daemon that died, or the gateway that never answered, tells the story; the rest is context.
    const culprit = e instanceof DaemonDied ? e.daemon : rgw;
    const logs = await logTails(dir, daemons, culprit);
    await stop().catch(() => undefined);
    throw new StartFailure(
      `could not start a Ceph RADOS Gateway for the S3 tests: ${(e as Error).message}${logs}`,
      /Address already in use|unable to bind/i.test(logs),
      { cause: e },
    );
  }
}

async function assertInstalled(): Promise<void> {
  const dirs = (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean);
  const missing: string[] = [];
  for (const bin of REQUIRED) {
    let found = false;
    for (const d of dirs) {
      if (await fs.access(path.join(d, bin), fsConstants.X_OK).then(() => true, () => false)) {
        found = true;
        break;
      }
    }
    if (!found) missing.push(bin);
  }
  if (missing.length > 0) {
    throw new Error(
      `the S3 tests need a real Ceph RADOS Gateway, but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} ` +
        `not installed. Install the Debian packages: ${INSTALL_HINT}`,
    );
  }
}

/** Loopback ports nobody listens on right now (a small race with other programs is accepted). */
async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      ports.push((server.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function runCommand(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  running: Set<ChildProcess>,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env, cwd, timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        running.delete(child);
        if (err) {
          const why = err.killed ? `timed out after ${COMMAND_TIMEOUT_MS / 1000} s` : `failed (${err.message.split('\n')[0]})`;
          reject(new Error(`${cmd} ${args.join(' ')} ${why}\n${tail(stderr || stdout, 20)}`));
        } else {
          resolve(stdout);
        }
      },
    );
    running.add(child);
  });
}

async function killCommand(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

function spawnDaemon(
  name: string,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  dir: string,
  daemons: Daemon[],
): Daemon {
  const logFile = path.join(dir, 'log', `${name}.log`);
  // Output goes to a file rather than a pipe: nobody reads a pipe after startup, and a full pipe
  // would block the daemon.
  const out = openSync(path.join(dir, 'log', `${name}.out`), 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { env, cwd: dir, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
  const d: Daemon = {
    name,
    child,
    logFile,
    hasExited: false,
    exited: new Promise((resolve) => {
      child.once('exit', () => {
        d.hasExited = true;
        resolve();
      });
      child.once('error', () => {
        d.hasExited = true;
        resolve();
      });
    }),
  };
  daemons.push(d);
  return d;
}

/** Fails as soon as one of the daemons dies instead of waiting for a timeout. */
async function raceDaemons<T>(work: Promise<T>, daemons: Daemon[]): Promise<T> {
  const died = daemons.map((d) =>
    d.exited.then(() => {
      throw new DaemonDied(d);
    }),
  );
  // The losing branches must not surface later as unhandled rejections.
  for (const p of died) p.catch(() => undefined);
  return Promise.race([work, ...died]);
}

async function waitForGateway(endpoint: string, deadline: number, rgw: Daemon): Promise<void> {
  const client = new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000 },
  });
  let last: unknown;
  try {
    while (Date.now() < deadline && !rgw.hasExited) {
      try {
        await client.send(new ListBucketsCommand({}));
        return;
      } catch (e) {
        last = e;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.destroy();
  }
  const why = last === undefined ? 'no answer' : `last error: ${(last as Error).name}: ${(last as Error).message}`;
  throw new Error(`the gateway at ${endpoint} did not answer ListBuckets within ${START_DEADLINE_MS / 1000} s (${why})`);
}

async function stopDaemon(d: Daemon): Promise<void> {
  if (d.hasExited) return;
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!d.hasExited) d.child.kill('SIGKILL');
  }, STOP_GRACE_MS);
  await d.exited;
  clearTimeout(timer);
}

async function logTails(dir: string, daemons: Daemon[], culprit: Daemon | undefined): Promise<string> {
  const ordered = culprit ? [culprit, ...daemons.filter((d) => d !== culprit)] : daemons;
  const files = ordered.flatMap((d) => [
    { file: d.logFile.replace(/\.log$/, '.out'), lines: d === culprit ? 25 : 5 },
    { file: d.logFile, lines: d === culprit ? 25 : 5 },
  ]);
  files.push({ file: path.join(dir, 'log', 'client.admin.log'), lines: 10 });
  const parts: string[] = [];
  for (const { file, lines } of files) {
    const text = await readTail(file, 16 * 1024);
    if (text.trim()) parts.push(`\n--- ${path.basename(file)} (last lines) ---\n${tail(text, lines)}`);
  }
  return parts.join('');
}

async function readTail(file: string, bytes: number): Promise<string> {
  try {
    const fh = await fs.open(file, 'r');
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - bytes);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
