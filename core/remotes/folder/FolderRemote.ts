import { randomBytes } from 'node:crypto';
import { constants as fsConstants, type Dirent, type Stats } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CcsError, isCcsError, wrapFsError } from '../../common/errors';
import { assertListPrefix } from '../prefix';
import { assertObjectName, type ObjectInfo, type PutOptions, type Remote } from '../remote';

type ErrnoError = NodeJS.ErrnoException;

// A segment of an object name. Directory entries that are not segments (temp files, .DS_Store,
// "x (conflicted copy)") cannot be objects, so list() ignores them.
const SEGMENT_RE = /^[a-z0-9_.-]+$/;
// The trailing '~' is outside the object-name alphabet, so a temp file can never be mistaken for
// an object, whatever the engine's naming scheme becomes.
const TEMP_PREFIX = '.tmp-';
const TEMP_SUFFIX = '~';

// Enough parallelism to hide per-file latency on network mounts without exhausting descriptors.
const LIST_CONCURRENCY = 32;

// Errors that mean "the storage behind the folder is not usable right now" rather than a bug.
const UNREACHABLE_CODES = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'EIO',
  'ESTALE',
  'ENOTCONN',
  'ETIMEDOUT',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'ENETDOWN',
  'ENETUNREACH',
  'ECONNRESET',
  'ECONNREFUSED',
  'EBUSY',
  'ENXIO',
  'ENODEV',
]);

// Filesystems without hard links (FAT/exFAT sticks, some SMB servers) report one of these.
const NO_HARDLINK_CODES = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

// Directory fsync is impossible on Windows and some network filesystems; the rename itself is
// still atomic there, only its durability across power loss is weaker.
const DIR_FSYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EBADF']);

function errno(e: unknown): string | undefined {
  return (e as ErrnoError | undefined)?.code;
}

function isMissing(e: unknown): boolean {
  const c = errno(e);
  return c === 'ENOENT' || c === 'ENOTDIR';
}

/**
 * The embedded default remote: a local or mounted folder (possibly synced by Dropbox, NFS, SMB).
 * Object `a/b/c` is the file `<root>/a/b/c`.
 *
 * The folder is never created implicitly (only by create()): on an unmounted drive, the mount
 * point must stay empty and every call must fail with REMOTE_NOT_FOUND rather than look like an
 * empty store. Symbolic links below the root may not lead outside it (a synced folder can be
 * written by other machines), and list() does not follow them at all.
 */
export class FolderRemote implements Remote {
  readonly description: string;
  private readonly root: string;
  private realRootCache: string | undefined;

  constructor(rootDir: string) {
    if (!path.isAbsolute(rootDir)) {
      throw new CcsError('USAGE', `remote folder ${JSON.stringify(rootDir)} is not an absolute path`);
    }
    this.root = path.resolve(rootDir);
    this.description = this.root;
  }

  async check(): Promise<void> {
    const problem = await this.rootProblem();
    if (problem) throw problem;
    try {
      await fs.access(this.root, fsConstants.R_OK | fsConstants.X_OK);
    } catch (e) {
      throw this.mapError(e, `remote folder ${this.root} cannot be read`);
    }
  }

  async create(): Promise<void> {
    try {
      await fs.mkdir(this.root, { recursive: true });
    } catch (e) {
      throw this.mapError(e, `cannot create remote folder ${this.root}`);
    }
    await this.check();
  }

  async put(name: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    assertObjectName(name);
    const what = `${this.description}: put ${name}`;
    const segments = name.split('/');
    const dir = path.join(this.root, ...segments.slice(0, -1));
    const finalPath = path.join(this.root, ...segments);
    await this.ensureDir(segments.slice(0, -1), name);

    const tempPath = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}${TEMP_SUFFIX}`);
    let tempExists = false;
    try {
      const fh = await fs.open(tempPath, 'wx');
      tempExists = true;
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (options?.createOnly) {
        await this.publishCreateOnly(tempPath, finalPath, data, name);
        tempExists = false;
        // The object is published; a leftover temp costs only space, while failing here would
        // make the caller retry into ALREADY_EXISTS for its own object.
        await fs.unlink(tempPath).catch(() => undefined);
      } else {
        await fs.rename(tempPath, finalPath);
        tempExists = false;
      }
      await fsyncDir(dir);
    } catch (e) {
      if (tempExists) await fs.unlink(tempPath).catch(() => undefined);
      throw await this.mapIoError(e, what);
    }
  }

  async get(name: string): Promise<Buffer> {
    assertObjectName(name);
    const real = await this.resolveExisting(name);
    if (real === null) throw this.missing(name);
    try {
      return await fs.readFile(real);
    } catch (e) {
      if (isMissing(e) || errno(e) === 'EISDIR') throw (await this.rootProblem()) ?? this.missing(name);
      throw await this.mapIoError(e, `${this.description}: get ${name}`);
    }
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertObjectName(name);
    assertRange(offset, length);
    const real = await this.resolveExisting(name);
    if (real === null) throw this.missing(name);
    let fh: FileHandle;
    try {
      fh = await fs.open(real, 'r');
    } catch (e) {
      if (isMissing(e) || errno(e) === 'EISDIR') throw (await this.rootProblem()) ?? this.missing(name);
      throw await this.mapIoError(e, `${this.description}: get ${name}`);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw this.missing(name);
      // Checking the size first avoids allocating a large buffer for a truncated object.
      if (offset + length > st.size) throw this.shortRead(name, offset, length, st.size);
      const buf = Buffer.allocUnsafe(length) // filled completely below, or the read fails;
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) throw this.shortRead(name, offset, length, offset + got);
        got += bytesRead;
      }
      return buf;
    } catch (e) {
      if (isCcsError(e)) throw e;
      throw await this.mapIoError(e, `${this.description}: get ${name}`);
    } finally {
      await fh.close();
    }
  }

  async stat(name: string): Promise<ObjectInfo | null> {
    assertObjectName(name);
    const real = await this.resolveExisting(name);
    if (real === null) return null;
    try {
      const st = await fs.stat(real);
      return st.isFile() ? { name, size: st.size } : null;
    } catch (e) {
      if (isMissing(e)) {
        const problem = await this.rootProblem();
        if (problem) throw problem;
        return null;
      }
      throw await this.mapIoError(e, `${this.description}: stat ${name}`);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertListPrefix(prefix);
    const cut = prefix.lastIndexOf('/');
    const dirSegments = cut < 0 ? [] : prefix.slice(0, cut).split('/');
    const partial = prefix.slice(cut + 1);
    const startDir = path.join(this.root, ...dirSegments);
    const what = `${this.description}: list ${JSON.stringify(prefix)}`;

    const realRoot = await this.realRoot();
    let realStart: string;
    try {
      realStart = await fs.realpath(startDir);
    } catch (e) {
      if (isMissing(e)) {
        const problem = await this.rootProblem();
        if (problem) throw problem;
        return [];
      }
      throw await this.mapIoError(e, what);
    }
    if (!within(realRoot, realStart)) throw this.escaped(prefix);

    const out: ObjectInfo[] = [];
    const limit = new Limiter(LIST_CONCURRENCY);
    const namePrefix = dirSegments.length ? `${dirSegments.join('/')}/` : '';

    const walk = async (absDir: string, relPrefix: string, filter: string, isStart: boolean): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await limit.run(() => fs.readdir(absDir, { withFileTypes: true }));
      } catch (e) {
        if (isMissing(e)) {
          // The starting directory vanishing may mean the drive went away; a subdirectory
          // vanishing is a concurrent change and simply has nothing to list.
          if (isStart) {
            const problem = await this.rootProblem();
            if (problem) throw problem;
          }
          return;
        }
        throw e;
      }
      await Promise.all(
        entries.map(async (ent) => {
          if (!ent.name.startsWith(filter) || !SEGMENT_RE.test(ent.name)) return;
          const abs = path.join(absDir, ent.name);
          const rel = relPrefix + ent.name;
          if (ent.isDirectory()) {
            await walk(abs, `${rel}/`, '', false);
          } else if (ent.isFile()) {
            try {
              const st = await limit.run(() => fs.lstat(abs));
              if (st.isFile()) out.push({ name: rel, size: st.size });
            } catch (e) {
              if (!isMissing(e)) throw e;
            }
          }
        }),
      );
    };

    try {
      await walk(realStart, namePrefix, partial, true);
    } catch (e) {
      if (isCcsError(e)) throw e;
      throw await this.mapIoError(e, what);
    }
    return out;
  }

  async delete(name: string): Promise<void> {
    assertObjectName(name);
    const segments = name.split('/');
    const dir = path.join(this.root, ...segments.slice(0, -1));
    const realRoot = await this.realRoot();
    let realDir: string;
    try {
      realDir = await fs.realpath(dir);
    } catch (e) {
      if (isMissing(e)) {
        const problem = await this.rootProblem();
        if (problem) throw problem;
        return;
      }
      throw await this.mapIoError(e, `${this.description}: delete ${name}`);
    }
    if (!within(realRoot, realDir)) throw this.escaped(name);
    const last = segments[segments.length - 1] as string;
    try {
      // unlink removes a symlink itself, never its target, so the leaf needs no check.
      await fs.unlink(path.join(realDir, last));
    } catch (e) {
      if (isMissing(e) || errno(e) === 'EISDIR') return;
      throw await this.mapIoError(e, `${this.description}: delete ${name}`);
    }
  }

  /**
   * The real (symlink-free) path of an existing object, or null when there is none. Throws
   * REMOTE_NOT_FOUND when the reason is a missing root, PATH_REJECTED when it leads outside.
   */
  private async resolveExisting(name: string): Promise<string | null> {
    const realRoot = await this.realRoot();
    let real: string;
    try {
      real = await fs.realpath(path.join(this.root, ...name.split('/')));
    } catch (e) {
      if (isMissing(e)) {
        const problem = await this.rootProblem();
        if (problem) throw problem;
        return null;
      }
      throw await this.mapIoError(e, `${this.description}: ${name}`);
    }
    if (!within(realRoot, real) && !within(await this.realRoot(true), real)) throw this.escaped(name);
    return real;
  }

  /**
   * Makes sure the directory for an object exists below the root, creating only levels below the
   * root (never the root itself) and refusing any level that resolves outside it.
   */
  private async ensureDir(dirSegments: string[], name: string): Promise<void> {
    const realRoot = await this.realRoot();
    const dir = path.join(this.root, ...dirSegments);
    try {
      const real = await fs.realpath(dir);
      if (within(realRoot, real) || within(await this.realRoot(true), real)) return;
      throw this.escaped(name);
    } catch (e) {
      if (isCcsError(e)) throw e;
      if (!isMissing(e)) throw await this.mapIoError(e, `${this.description}: put ${name}`);
    }

    let parent = this.root;
    for (const seg of dirSegments) {
      const p = path.join(parent, seg);
      try {
        let st = await lstatOrNull(p);
        if (st === null) {
          try {
            await fs.mkdir(p);
          } catch (e) {
            if (errno(e) !== 'EEXIST') throw e;
          }
          // Also after losing a mkdir race: the winner may not have made the entry durable yet,
          // and this put must not return before it is.
          await fsyncDir(parent);
          st = await fs.lstat(p);
        }
        if (st.isSymbolicLink()) {
          if (!within(realRoot, await fs.realpath(p))) throw this.escaped(name);
        } else if (!st.isDirectory()) {
          throw new CcsError(
            'INTERNAL',
            `${this.description}: cannot store ${name}: ${path.relative(this.root, p)} is a file, not a directory`,
          );
        }
      } catch (e) {
        if (isCcsError(e)) throw e;
        if (isMissing(e)) throw (await this.rootProblem()) ?? (await this.mapIoError(e, `${this.description}: put ${name}`));
        throw await this.mapIoError(e, `${this.description}: put ${name}`);
      }
      parent = p;
    }
  }

  private async publishCreateOnly(tempPath: string, finalPath: string, data: Uint8Array, name: string): Promise<void> {
    try {
      await fs.link(tempPath, finalPath);
      return;
    } catch (e) {
      if (errno(e) === 'EEXIST') throw this.alreadyExists(name);
      if (!NO_HARDLINK_CODES.has(errno(e) ?? '')) throw e;
    }
    // Without hard links, exclusive create keeps the "exactly one writer wins" guarantee, but a
    // concurrent reader may briefly see a partial object (the engine verifies every object).
    let fh: FileHandle;
    try {
      fh = await fs.open(finalPath, 'wx');
    } catch (e) {
      if (errno(e) === 'EEXIST') throw this.alreadyExists(name);
      throw e;
    }
    try {
      await fh.writeFile(data);
      await fh.sync();
      await fh.close();
    } catch (e) {
      await fh.close().catch(() => undefined);
      await fs.unlink(finalPath).catch(() => undefined);
      throw e;
    }
  }

  /** Cached because every operation needs it; refreshed when a containment check fails. */
  private async realRoot(refresh = false): Promise<string> {
    if (this.realRootCache !== undefined && !refresh) return this.realRootCache;
    try {
      this.realRootCache = await fs.realpath(this.root);
      return this.realRootCache;
    } catch (e) {
      throw (await this.rootProblem()) ?? this.mapError(e, `remote folder ${this.root} cannot be used`);
    }
  }

  /** Why the root cannot be used, or null when it is a directory. */
  private async rootProblem(): Promise<CcsError | null> {
    try {
      const st = await fs.stat(this.root);
      if (st.isDirectory()) return null;
      return new CcsError('REMOTE_NOT_FOUND', `remote folder ${this.root} is not a directory`);
    } catch (e) {
      if (isMissing(e)) {
        return new CcsError('REMOTE_NOT_FOUND', `remote folder ${this.root} does not exist (is the drive mounted?)`, {
          cause: e,
        });
      }
      return this.mapError(e, `remote folder ${this.root} cannot be used`);
    }
  }

  /** Like mapError, but first blames a vanished root, which is the likelier story. */
  private async mapIoError(e: unknown, what: string): Promise<CcsError> {
    if (isCcsError(e)) return e;
    if (isMissing(e)) {
      const problem = await this.rootProblem();
      if (problem) return problem;
    }
    return this.mapError(e, what);
  }

  private mapError(e: unknown, what: string): CcsError {
    if (isCcsError(e)) return e;
    try {
      wrapFsError(e, what);
    } catch (wrapped) {
      if (isCcsError(wrapped)) return wrapped;
    }
    const code = errno(e);
    const detail = (e as Error | undefined)?.message ?? String(e);
    if (code === 'EACCES' || code === 'EPERM') {
      return new CcsError('REMOTE_UNREACHABLE', `${what}: permission denied (${detail})`, { cause: e });
    }
    if (code === 'EROFS') {
      return new CcsError('REMOTE_UNREACHABLE', `${what}: the folder is on a read-only file system`, { cause: e });
    }
    if (code !== undefined && UNREACHABLE_CODES.has(code)) {
      return new CcsError('REMOTE_UNREACHABLE', `${what}: ${detail}`, { cause: e });
    }
    return new CcsError('INTERNAL', `${what}: ${detail}`, { cause: e });
  }

  private missing(name: string): CcsError {
    return new CcsError('OBJECT_MISSING', `${this.description}: object ${name} is missing`);
  }

  private alreadyExists(name: string): CcsError {
    return new CcsError('ALREADY_EXISTS', `${this.description}: object ${name} already exists`);
  }

  private escaped(name: string): CcsError {
    return new CcsError(
      'PATH_REJECTED',
      `${this.description}: ${name} leads outside the remote folder through a symbolic link; refusing to use it`,
    );
  }

  private shortRead(name: string, offset: number, length: number, end: number): CcsError {
    return new CcsError(
      'OBJECT_CORRUPT',
      `${this.description}: short read of object ${name}: wanted bytes ${offset}..${offset + length} but it ends at ${end} (truncated?)`,
    );
  }
}

function assertRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`invalid range: offset ${offset}, length ${length}`);
  }
}

function within(root: string, p: string): boolean {
  if (p === root) return true;
  return p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fs.lstat(p);
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw e;
  }
}

/** Makes a rename, link or mkdir inside `dir` survive power loss. */
async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await fs.open(dir, 'r');
  } catch (e) {
    if (DIR_FSYNC_UNSUPPORTED.has(errno(e) ?? '')) return;
    throw e;
  }
  try {
    await fh.sync();
  } catch (e) {
    if (!DIR_FSYNC_UNSUPPORTED.has(errno(e) ?? '')) throw e;
  } finally {
    await fh.close();
  }
}

class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in
    // between and exceed the limit.
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
