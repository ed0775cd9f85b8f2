import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const APACHE_BINARIES = ['/usr/sbin/apache2', '/usr/sbin/httpd', '/usr/local/sbin/httpd'];
const MODULE_DIRS = ['/usr/lib/apache2/modules', '/usr/lib64/httpd/modules', '/usr/lib/httpd/modules'];
// Static in Debian's build; loaded from the module dir when a distribution builds them shared.
const MODULES = [
  'mpm_event',
  'authn_core',
  'authn_file',
  'authz_core',
  'authz_user',
  'auth_basic',
  'dav',
  'dav_fs',
  'dav_lock',
];
const WWW_USER = 'www-data';

export interface ApacheDav {
  /** webdav+http://user:password@127.0.0.1:port/dav — the store root, credentials included. */
  url: string;
  /** The same URL without credentials. */
  bareUrl: string;
  /** The http:// origin and path that Apache serves the store at (no credentials). */
  httpUrl: string;
  user: string;
  password: string;
  /** The directory Apache serves as /dav. */
  root: string;
  port: number;
  /** The parent process, which leads the process group of all of Apache's processes. */
  pid: number;
  /** Stops Apache (the whole process group) and removes its files. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a private Apache mod_dav on a free loopback port with Basic auth, for tests against a
 * real WebDAV server (see /work/shared/design/ENVIRONMENT.md, "WebDAV servers"). Fails loudly when
 * Apache is not installed: a skipped WebDAV suite would look like a passing one.
 */
export async function startApacheDav(options: { binaries?: string[] } = {}): Promise<ApacheDav> {
  const candidates = options.binaries ?? APACHE_BINARIES;
  const binary = candidates.find((b) => existsSync(b));
  if (binary === undefined) {
    throw new Error(
      `Apache httpd is not installed (looked for ${candidates.join(', ')}); the WebDAV tests need it: ` +
        'apt-get install -y apache2 apache2-utils',
    );
  }
  const moduleDir = MODULE_DIRS.find((d) => existsSync(path.join(d, 'mod_dav.so')));
  if (moduleDir === undefined) throw new Error(`Apache's mod_dav.so was not found in ${MODULE_DIRS.join(', ')}`);

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ccs-apache-'));
  const docRoot = path.join(dir, 'www');
  const root = path.join(docRoot, 'dav');
  const lockDir = path.join(dir, 'lock');
  await fs.mkdir(root, { recursive: true });
  await fs.mkdir(lockDir);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // Apache refuses to serve requests as root, and its workers must be able to reach the store.
    await fs.chmod(dir, 0o755);
    await fs.chmod(docRoot, 0o755);
    const { stdout } = await execFileAsync('id', ['-u', WWW_USER]);
    const { stdout: gid } = await execFileAsync('id', ['-g', WWW_USER]);
    for (const d of [root, lockDir]) await fs.chown(d, Number(stdout.trim()), Number(gid.trim()));
  }

  const user = `u${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('base64url');
  const htpasswd = path.join(dir, 'htpasswd');
  await writeHtpasswd(htpasswd, user, password);
  await fs.chmod(htpasswd, 0o644);

  let lastError: Error | undefined;
  // A free port can be taken by someone else between probing and binding: try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, 'httpd.conf');
    await fs.writeFile(conf, config({ dir, docRoot, root, lockDir, port, htpasswd, moduleDir, asRoot }));
    try {
      const child = await launch(binary, conf, port, dir);
      const httpUrl = `http://127.0.0.1:${port}/dav`;
      let stopped: Promise<void> | undefined;
      const stop = (): Promise<void> => {
        stopped ??= (async () => {
          await killGroup(child);
          await fs.rm(dir, { recursive: true, force: true });
        })();
        return stopped;
      };
      return {
        url: `webdav+http://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/dav`,
        bareUrl: `webdav+${httpUrl}`,
        httpUrl,
        user,
        password,
        root,
        port,
        pid: child.pid!,
        stop,
      };
    } catch (e) {
      lastError = e as Error;
      if (!/Address already in use|could not bind/i.test(lastError.message)) break;
    }
  }
  await fs.rm(dir, { recursive: true, force: true });
  throw lastError ?? new Error('Apache did not start');
}

async function writeHtpasswd(file: string, user: string, password: string): Promise<void> {
  try {
    await execFileAsync('htpasswd', ['-bcs', file, user, password]);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // apache2-utils is optional: {SHA} is what `htpasswd -s` writes.
  const sha = createHash('sha1').update(password).digest('base64');
  await fs.writeFile(file, `${user}:{SHA}${sha}\n`);
}

function config(o: {
  dir: string;
  docRoot: string;
  root: string;
  lockDir: string;
  port: number;
  htpasswd: string;
  moduleDir: string;
  asRoot: boolean;
}): string {
  return [
    `ServerRoot ${o.dir}`,
    `DefaultRuntimeDir ${o.dir}`,
    `PidFile ${path.join(o.dir, 'httpd.pid')}`,
    `ErrorLog ${path.join(o.dir, 'error.log')}`,
    'LogLevel warn',
    `Listen 127.0.0.1:${o.port}`,
    'ServerName 127.0.0.1',
    ...MODULES.map((m) => `LoadModule ${m}_module ${path.join(o.moduleDir, `mod_${m}.so`)}`),
    ...(o.asRoot ? [`User ${WWW_USER}`, `Group ${WWW_USER}`] : []),
    // One child process is plenty for tests and keeps start and stop fast.
    'StartServers 1',
    'ServerLimit 1',
    'ThreadsPerChild 64',
    'MinSpareThreads 1',
    'MaxSpareThreads 64',
    'MaxRequestWorkers 64',
    'KeepAlive On',
    'Timeout 30',
    `DavLockDB ${path.join(o.lockDir, 'DavLock')}`,
    // Weak ETags of just-written files would break If-Match (ENVIRONMENT.md).
    'FileETag Digest',
    'LimitRequestBody 0',
    '<Directory />',
    '  AllowOverride None',
    '  Require all denied',
    '</Directory>',
    `DocumentRoot ${o.docRoot}`,
    `<Directory ${o.root}>`,
    '  Dav On',
    '  AuthType Basic',
    '  AuthName "ccsync test"',
    '  AuthBasicProvider file',
    `  AuthUserFile ${o.htpasswd}`,
    '  Require valid-user',
    '</Directory>',
    '',
  ].join('\n');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function launch(binary: string, conf: string, port: number, dir: string): Promise<ChildProcess> {
  const errorLog = path.join(dir, 'error.log');
  // Its own process group, so stop() can take the workers down with the parent.
  const child = spawn(binary, ['-f', conf, '-DFOREGROUND'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code ?? null)));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  // A test process that exits without stop() (a crash, a killed worker) must not leave Apache
  // running or its files behind.
  const killAtExit = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killAtExit);
  child.once('exit', () => process.removeListener('exit', killAtExit));

  const deadline = Date.now() + 10_000;
  for (;;) {
    const outcome = await Promise.race([
      exited.then((code) => ({ exited: code })),
      spawnError.then((err) => ({ err })),
      connects(port).then((ok) => ({ ok })),
    ]);
    if ('err' in outcome) throw new Error(`cannot run ${binary}: ${outcome.err.message}`);
    if ('exited' in outcome) {
      const log = await fs.readFile(errorLog, 'utf8').catch(() => '');
      throw new Error(`Apache exited with code ${outcome.exited} while starting:\n${stderr}${log}`.trim());
    }
    if (outcome.ok) return child;
    if (Date.now() > deadline) {
      await killGroup(child);
      throw new Error(`Apache did not accept connections on 127.0.0.1:${port} within 10 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Stops the parent and every worker; returns only when none of them is left. */
async function killGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const alive = (): boolean => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is already gone
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + 3000;
  while (alive()) {
    if (Date.now() > deadline) signal('SIGKILL');
    await new Promise((r) => setTimeout(r, 5));
  }
}
