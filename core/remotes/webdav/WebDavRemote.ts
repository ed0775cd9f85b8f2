import { randomBytes } from 'node:crypto';
import { CcsError } from '../../common/errors';
import { assertListPrefix } from '../prefix';
import { assertObjectName, type ObjectInfo, type PutOptions, type Remote } from '../remote';
import type { ConditionalWrites } from '../selfTest';
import { isTransient, transientError } from '../wrappers/transient';
import { DavHttp, isOk, statusError, type DavResponse, type FetchLike } from './davHttp';
import { DavLocks, LOCK_TIMEOUT_SECONDS } from './davLocks';
import { hrefSegments, pathSegments, readMultistatus, sameSegments } from './multistatus';
import { parseWebDavUrl } from './webdavUrl';

export interface WebDavOptions {
  /** Replaces global fetch (tests: fault injection, servers that ignore headers). */
  fetch?: FetchLike;
  /** Where CCSYNC_WEBDAV_USER / CCSYNC_WEBDAV_PASSWORD are read from. */
  env?: NodeJS.ProcessEnv;
  /** Longest wait for an answer to start, and longest pause inside a response body. */
  timeoutMs?: number;
  maxConcurrency?: number;
  /** How long to wait for another client's WebDAV lock on an object before giving up. */
  lockWaitMs?: number;
}

const SEGMENT_RE = /^[a-z0-9_.-]+$/;
// mod_dav_fs writes a PUT body to ".davfs.tmpXXXXXX" next to the target and renames it. It hides
// them from PROPFIND itself, but other servers copying the idea may not.
const SERVER_TEMP_PREFIX = '.davfs.tmp';
// Outside the object-name alphabet ('~'), so a leftover probe is never listed as an object.
const PROBE_PREFIX = '.ccsync-probe-';
const PROBE_SUFFIX = '~';
const LIST_ATTEMPTS_PER_COLLECTION = 3;
const PROPFIND_BODY =
  '<?xml version="1.0" encoding="utf-8"?>' +
  '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/></D:prop></D:propfind>';

interface Capabilities {
  /** The server refuses a PUT with If-None-Match: * when the object exists (412). */
  ifNoneMatch: boolean;
  /** WebDAV class 2: exclusive LOCK, also of names that do not exist yet. */
  locks: boolean;
}

/**
 * A store in a WebDAV collection (Nextcloud, Apache mod_dav, a NAS …). Object `a/b/c` is the
 * resource `<base>/a/b/c`; missing collections are created on put (never the base itself: a
 * missing base is REMOTE_NOT_FOUND, as for an unmounted folder).
 *
 * put() is atomic on servers that write a PUT to a temporary file and rename it (Apache, nginx,
 * Nextcloud). createOnly, in the order of preference found by a one-time probe per instance:
 * - the server supports LOCK ("enforced"): lock the name (an exclusive lock of an unmapped URL,
 *   which only one client can hold), PUT with `If: (<token>)` and `If-None-Match: *`, unlock.
 *   Exactly one of any number of concurrent createOnly writers succeeds, as long as every writer
 *   of the name locks it (ccsync does; a foreign client's plain PUT is refused with 423 only while
 *   the lock is held). If-None-Match alone is not enough: Apache checks it before reading the
 *   body, so concurrent uploads of a new name all pass it (measured: several winners out of 20).
 * - no LOCK, but If-None-Match honoured ("emulated"): a createOnly put never replaces an object
 *   that existed when its upload started, but writers racing on a new name can all succeed, and
 *   the last rename wins.
 * - neither ("emulated"): check that the name is free, PUT, read back and compare; a writer that
 *   finds other bytes reports ALREADY_EXISTS. An object created between the check and the PUT is
 *   replaced, and racing writers can all be told they succeeded.
 */
export class WebDavRemote implements Remote {
  readonly description: string;
  private readonly base: URL;
  private readonly http: DavHttp;
  private readonly locks: DavLocks;
  private capabilities: Promise<Capabilities> | undefined;
  private readonly collectionsInFlight = new Map<string, Promise<void>>();

  constructor(url: string, options: WebDavOptions = {}) {
    const target = parseWebDavUrl(url, options.env);
    this.base = target.base;
    this.description = target.description;
    this.http = new DavHttp({
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      authorization:
        target.user === undefined
          ? undefined
          : `Basic ${Buffer.from(`${target.user}:${target.password ?? ''}`, 'utf8').toString('base64')}`,
      hostPort: `${target.base.hostname}:${target.base.port || (target.base.protocol === 'https:' ? '443' : '80')}`,
      timeoutMs: options.timeoutMs ?? 30_000,
      maxConcurrency: options.maxConcurrency ?? 8,
    });
    this.locks = new DavLocks(this.http, options.lockWaitMs ?? (LOCK_TIMEOUT_SECONDS + 30) * 1000);
  }

  async check(): Promise<void> {
    const problem = await this.baseProblem(`${this.description}: check`);
    if (problem) throw problem;
  }

  async create(): Promise<void> {
    await this.makeCollection(this.base, `${this.description}: create`);
    await this.check();
  }

  async put(name: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    assertObjectName(name);
    const what = `${this.description}: put ${name}`;
    if (options?.createOnly) return this.putCreateOnly(name, data, what);
    const res = await this.putWithParents(name, data, {}, what);
    if (!isOk(res)) throw statusError(res, what);
  }

  async get(name: string): Promise<Buffer> {
    assertObjectName(name);
    const what = `${this.description}: get ${name}`;
    const res = await this.http.request('GET', this.objectUrl(name), what, { headers: { 'accept-encoding': 'identity' } });
    if (res.status === 200) return res.body;
    throw await this.readError(res, name, what);
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertObjectName(name);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`invalid range: offset ${offset}, length ${length}`);
    }
    const what = `${this.description}: get ${name}`;
    if (length === 0) {
      // "bytes=a-(a-1)" is not a valid range; the size answers whether an empty range fits.
      const info = await this.stat(name);
      if (info === null) throw this.missing(name);
      if (offset > info.size) throw this.shortRead(name, offset, length, info.size);
      return Buffer.alloc(0);
    }
    const res = await this.http.request('GET', this.objectUrl(name), what, {
      headers: { 'accept-encoding': 'identity', range: `bytes=${offset}-${offset + length - 1}` },
    });
    if (res.status === 206) return this.rangeBody(res, name, offset, length, what);
    if (res.status === 200) {
      // The server ignored Range and sent the whole object.
      if (res.body.length < offset + length) throw this.shortRead(name, offset, length, res.body.length);
      return Buffer.from(res.body.subarray(offset, offset + length));
    }
    if (res.status === 416) {
      const size = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '')?.[1];
      throw this.shortRead(name, offset, length, size === undefined ? undefined : Number(size));
    }
    throw await this.readError(res, name, what);
  }

  async stat(name: string): Promise<ObjectInfo | null> {
    assertObjectName(name);
    const what = `${this.description}: stat ${name}`;
    const res = await this.propfind(this.objectUrl(name), '0', what);
    if (res.status === 404 || res.status === 410) {
      const problem = await this.baseProblem(what);
      if (problem) throw problem;
      return null;
    }
    if (res.status !== 207) throw statusError(res, what);
    const entry = readMultistatus(res, what)[0];
    // A lock-null resource (someone's createOnly in progress) has no length and no bytes yet.
    if (entry === undefined || entry.isCollection || entry.size === undefined) return null;
    return { name, size: entry.size };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertListPrefix(prefix);
    const what = `${this.description}: list ${JSON.stringify(prefix)}`;
    const cut = prefix.lastIndexOf('/');
    const startSegments = cut < 0 ? [] : prefix.slice(0, cut).split('/');
    const partial = prefix.slice(cut + 1);
    const out: ObjectInfo[] = [];

    const walk = async (segments: string[], filter: string, isStart: boolean): Promise<void> => {
      const children = await this.listCollectionPatiently(segments, what);
      if (children === null) {
        if (!isStart) return; // removed while we were listing
        const problem = await this.baseProblem(what);
        if (problem) throw problem;
        return;
      }
      await Promise.all(
        children.map(async (child) => {
          if (!child.name.startsWith(filter) || !SEGMENT_RE.test(child.name) || child.name.startsWith(SERVER_TEMP_PREFIX)) {
            return;
          }
          if (child.isCollection) {
            await walk([...segments, child.name], '', false);
          } else if (child.size !== undefined) {
            out.push({ name: [...segments, child.name].join('/'), size: child.size });
          }
        }),
      );
    };
    await walk(startSegments, partial, true);
    return out;
  }

  async delete(name: string): Promise<void> {
    assertObjectName(name);
    const what = `${this.description}: delete ${name}`;
    const url = this.objectUrl(name);
    // Depth 0 makes a server refuse (400) instead of deleting a whole collection of that name.
    const res = await this.locks.whileLocked(() => this.http.request('DELETE', url, what, { headers: { depth: '0' } }), what);
    if (isOk(res)) return;
    if (res.status === 404 || res.status === 410) {
      const problem = await this.baseProblem(what);
      if (problem) throw problem;
      return;
    }
    if (res.status === 400 || res.status === 403 || res.status === 409) {
      const check = await this.propfind(url, '0', what);
      if (check.status === 207 && readMultistatus(check, what)[0]?.isCollection) return; // not an object
      if (check.status !== 207 && check.status !== 404) throw statusError(check, what);
    }
    throw statusError(res, what);
  }

  /** How createOnly is guaranteed on this server (probed once; see the class comment). */
  async conditionalWrites(): Promise<ConditionalWrites> {
    return (await this.probe()).locks ? 'enforced' : 'emulated';
  }

  private async putCreateOnly(name: string, data: Uint8Array, what: string): Promise<void> {
    const caps = await this.probe();
    if (!caps.locks) return this.putCreateOnlyEmulated(name, data, caps, what);
    return this.locks.oneAtATime(this.objectUrl(name), () => this.putCreateOnlyLocked(name, data, caps, what));
  }


  private async putCreateOnlyLocked(name: string, data: Uint8Array, caps: Capabilities, what: string): Promise<void> {
    const url = this.objectUrl(name);
    let locked = await this.locks.lock(url, what);
    if ('res' in locked && (locked.res.status === 409 || locked.res.status === 404)) {
      await this.makeParents(name, what);
      locked = await this.locks.lock(url, what);
    }
    if ('res' in locked) throw statusError(locked.res, what);
    const { token } = locked;
    try {
      if (!caps.ifNoneMatch && (await this.stat(name)) !== null) throw this.alreadyExists(name);
      const headers: Record<string, string> = { if: `(${token})` };
      if (caps.ifNoneMatch) headers['if-none-match'] = '*';
      const res = await this.putWithParents(name, data, headers, what);
      if (res.status === 412) {
        // Either the object exists, or our lock expired (then the If: header failed).
        if ((await this.stat(name)) !== null) throw this.alreadyExists(name);
        throw transientError(`${what}: the server no longer honours our lock (expired?)`, { maybeApplied: false });
      }
      if (!isOk(res)) throw statusError(res, what);
    } finally {
      await this.locks.unlock(url, token);
    }
  }

  private async putCreateOnlyEmulated(name: string, data: Uint8Array, caps: Capabilities, what: string): Promise<void> {
    if (caps.ifNoneMatch) {
      const res = await this.putWithParents(name, data, { 'if-none-match': '*' }, what);
      if (res.status === 412) throw this.alreadyExists(name);
      if (!isOk(res)) throw statusError(res, what);
      return;
    }
    if ((await this.stat(name)) !== null) throw this.alreadyExists(name);
    const res = await this.putWithParents(name, data, {}, what);
    if (!isOk(res)) throw statusError(res, what);
    // A writer that raced us and renamed last owns the object; say so instead of "created".
    const stored = await this.get(name);
    if (!stored.equals(data)) throw this.alreadyExists(name);
  }

  /** A PUT that creates missing parent collections; returns 2xx and 412 answers to the caller. */
  private async putWithParents(name: string, data: Uint8Array, headers: Record<string, string>, what: string): Promise<DavResponse> {
    const url = this.objectUrl(name);
    const send = (): Promise<DavResponse> =>
      this.locks.whileLocked(
        () => this.http.request('PUT', url, what, { body: data, headers: { 'content-type': 'application/octet-stream', ...headers } }),
        what,
      );
    let res = await send();
    if (res.status === 409 || res.status === 404) {
      await this.makeParents(name, what);
      res = await send();
      if (res.status === 409) {
        throw new CcsError('REMOTE_UNREACHABLE', `${what}: the server refuses to create it (HTTP 409); is a parent of it a file?`);
      }
    }
    return res;
  }

  private async makeParents(name: string, what: string): Promise<void> {
    const dirs = name.split('/').slice(0, -1);
    if (dirs.length === 0) {
      throw (await this.baseProblem(what)) ?? new CcsError('REMOTE_UNREACHABLE', `${what}: the server refuses to create it (HTTP 409)`);
    }
    await this.makeCollection(this.collectionUrl(dirs), what, this.base);
  }

  /**
   * MKCOL, creating missing parents first when the server says so (409). Never goes above
   * `stopAt`: reaching it means the store itself is missing. Concurrent puts into one new
   * collection share a single MKCOL.
   */
  private makeCollection(url: URL, what: string, stopAt?: URL): Promise<void> {
    let pending = this.collectionsInFlight.get(url.pathname);
    if (pending === undefined) {
      pending = this.mkcol(url, what, stopAt).finally(() => this.collectionsInFlight.delete(url.pathname));
      this.collectionsInFlight.set(url.pathname, pending);
    }
    return pending;
  }

  private async mkcol(url: URL, what: string, stopAt: URL | undefined): Promise<void> {
    let res = await this.http.request('MKCOL', url, what);
    if (res.status === 409) {
      const parent = new URL('..', url);
      if ((stopAt !== undefined && parent.pathname === stopAt.pathname) || parent.pathname === url.pathname) {
        throw (await this.baseProblem(what)) ?? statusError(res, what);
      }
      await this.makeCollection(parent, what, stopAt);
      res = await this.http.request('MKCOL', url, what);
    }
    // 405: something exists there already; a file in the way shows up on the next PUT.
    if (isOk(res) || res.status === 405) return;
    // Another client's MKCOL can win the race between the server's check and its mkdir (Apache
    // then answers 403 "File exists").
    const now = await this.propfind(url, '0', what);
    if (now.status === 207 && readMultistatus(now, what)[0]?.isCollection) return;
    throw statusError(now.status === 207 || now.status === 404 ? res : now, what);
  }

  /** Finds out once per instance what createOnly can rely on, with a probe object outside the name space. */
  private probe(): Promise<Capabilities> {
    this.capabilities ??= this.runProbe().catch((e: unknown) => {
      this.capabilities = undefined; // a network failure is no answer; ask again next time
      throw e;
    });
    return this.capabilities;
  }

  private async runProbe(): Promise<Capabilities> {
    const url = new URL(`${PROBE_PREFIX}${randomBytes(8).toString('hex')}${PROBE_SUFFIX}`, this.base);
    const what = `${this.description}: probe conditional writes`;
    const first = await this.http.request('PUT', url, what, { body: Buffer.from('probe') });
    if (first.status === 409 || first.status === 404) throw (await this.baseProblem(what)) ?? statusError(first, what);
    if (!isOk(first)) throw statusError(first, what);
    try {
      const second = await this.http.request('PUT', url, what, { body: Buffer.from('probe 2'), headers: { 'if-none-match': '*' } });
      if (second.status !== 412 && !isOk(second)) throw statusError(second, what);
      const lock = await this.http.request('LOCK', url, what, {
        headers: { 'content-type': 'application/xml; charset=utf-8', depth: '0', timeout: 'Second-10' },
        body: this.locks.lockBody(),
      });
      const token = lock.headers.get('lock-token')?.trim();
      const locks = isOk(lock) && token !== undefined && token !== '';
      if (locks) {
        await this.http.request('UNLOCK', url, what, { headers: { 'lock-token': token.startsWith('<') ? token : `<${token}>` } });
      }
      return { ifNoneMatch: second.status === 412, locks };
    } finally {
      await this.http.request('DELETE', url, what).catch(() => undefined);
    }
  }

  /**
   * A listing is one request per collection (hundreds for a large store); without a retry per
   * collection, one transient failure anywhere would throw the whole walk away, and a retry of the
   * walk would meet the next one.
   */
  private async listCollectionPatiently(segments: string[], what: string): ReturnType<WebDavRemote['listCollection']> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.listCollection(segments, what);
      } catch (e) {
        if (attempt >= LIST_ATTEMPTS_PER_COLLECTION || !isTransient(e)) throw e;
        await new Promise((r) => setTimeout(r, 25 * 4 ** attempt * (0.5 + Math.random() / 2)));
      }
    }
  }

  /** Children of a collection, or null when it does not exist (or is not a collection). */
  private async listCollection(
    segments: string[],
    what: string,
  ): Promise<Array<{ name: string; isCollection: boolean; size: number | undefined }> | null> {
    const url = this.collectionUrl(segments);
    const res = await this.propfind(url, '1', what);
    if (res.status === 404 || res.status === 410) return null;
    if (res.status !== 207) {
      // Apache answers 400 for "file/" and others 409; only a non-collection may be dismissed.
      if (segments.length > 0 && res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 403) {
        const plain = await this.propfind(this.objectUrl(segments.join('/')), '0', what);
        if (plain.status === 404 || (plain.status === 207 && !readMultistatus(plain, what)[0]?.isCollection)) return null;
        if (plain.status !== 207) throw statusError(plain, what);
      }
      throw statusError(res, what);
    }
    const entries = readMultistatus(res, what).flatMap((e) => {
      const segs = hrefSegments(e.href, url);
      return segs === undefined ? [] : [{ ...e, segs }];
    });
    const wanted = pathSegments(url);
    // A reverse proxy may rewrite paths: then the entry closest to the root is the collection.
    const self =
      entries.find((e) => sameSegments(e.segs, wanted)) ??
      entries.reduce<(typeof entries)[number] | undefined>((a, e) => (a === undefined || e.segs.length < a.segs.length ? e : a), undefined);
    if (self === undefined) return [];
    return entries
      .filter((e) => e.segs.length === self.segs.length + 1 && sameSegments(e.segs.slice(0, -1), self.segs))
      .map((e) => ({ name: e.segs[e.segs.length - 1]!, isCollection: e.isCollection, size: e.size }));
  }

  private propfind(url: URL, depth: '0' | '1', what: string): Promise<DavResponse> {
    return this.http.request('PROPFIND', url, what, {
      headers: { depth, 'content-type': 'application/xml; charset=utf-8' },
      body: Buffer.from(PROPFIND_BODY),
    });
  }

  /** Why the store cannot be used, or null when its collection exists. */
  private async baseProblem(what: string): Promise<CcsError | null> {
    const res = await this.propfind(this.base, '0', what);
    if (res.status === 207) {
      const self = readMultistatus(res, what)[0];
      if (self === undefined || self.isCollection) return null;
      return new CcsError('REMOTE_NOT_FOUND', `${this.description} is a file, not a WebDAV folder`);
    }
    if (res.status === 404 || res.status === 410 || res.status === 409) {
      return new CcsError('REMOTE_NOT_FOUND', `${this.description} does not exist on the server`);
    }
    if (res.status === 405 || res.status === 501) {
      return new CcsError(
        'REMOTE_UNREACHABLE',
        `${this.description}: the server does not speak WebDAV at this address (HTTP ${res.status} to PROPFIND)`,
      );
    }
    return statusError(res, what);
  }

  private async readError(res: DavResponse, name: string, what: string): Promise<CcsError> {
    if (res.status === 404 || res.status === 410) return (await this.baseProblem(what)) ?? this.missing(name);
    // A collection of that name: mod_dir and others redirect to the slash form.
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location !== null) {
      const target = hrefSegments(location, this.objectUrl(name));
      if (target !== undefined && sameSegments(target, pathSegments(this.objectUrl(name)))) return this.missing(name);
    }
    return statusError(res, what);
  }

  private rangeBody(res: DavResponse, name: string, offset: number, length: number, what: string): Buffer {
    const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== offset) {
      throw new CcsError(
        'REMOTE_UNREACHABLE',
        `${what}: the server answered bytes ${JSON.stringify(res.headers.get('content-range'))} to a request for ${offset}-${offset + length - 1}`,
      );
    }
    if (res.body.length < length) {
      const total = m[3] === '*' ? undefined : Number(m[3]);
      throw this.shortRead(name, offset, length, total ?? offset + res.body.length);
    }
    return res.body.length === length ? res.body : Buffer.from(res.body.subarray(0, length));
  }

  private objectUrl(name: string): URL {
    return new URL(name, this.base);
  }

  private collectionUrl(segments: string[]): URL {
    return segments.length === 0 ? this.base : new URL(`${segments.join('/')}/`, this.base);
  }

  private missing(name: string): CcsError {
    return new CcsError('OBJECT_MISSING', `${this.description}: object ${name} is missing`);
  }

  private alreadyExists(name: string): CcsError {
    return new CcsError('ALREADY_EXISTS', `${this.description}: object ${name} already exists`);
  }

  private shortRead(name: string, offset: number, length: number, end: number | undefined): CcsError {
    return new CcsError(
      'OBJECT_CORRUPT',
      `${this.description}: short read of object ${name}: wanted bytes ${offset}..${offset + length}` +
        `${end === undefined ? '' : ` but it ends at ${end}`} (truncated?)`,
    );
  }
}
