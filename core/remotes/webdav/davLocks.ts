import { randomBytes } from 'node:crypto';
import { transientError } from '../wrappers/transient';
import { isOk, statusError, type DavHttp, type DavResponse } from './davHttp';
import { readMultistatus } from './multistatus';

// Long enough for any log-entry upload; a lock abandoned by a crashed client expires after this.
export const LOCK_TIMEOUT_SECONDS = 60;

const LOCKDISCOVERY_BODY =
  '<?xml version="1.0" encoding="utf-8"?>' +
  '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>';

/**
 * WebDAV class-2 locks as createOnly uses them: an exclusive write lock of a name (which may not
 * exist yet: only one client can hold it), released right after the PUT. Also the 423 wait that
 * every write needs while another client holds a lock.
 */
export class DavLocks {
  // Identifies this instance's locks, so one whose LOCK answer was lost can be found and released.
  readonly owner = `ccsync-${randomBytes(8).toString('hex')}`;
  // Locks whose UNLOCK was lost: released before the next LOCK of the name, so that a retried
  // createOnly does not wait for its own lock to expire.
  private readonly stale = new Map<string, string>();
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly http: DavHttp,
    private readonly lockWaitMs: number,
  ) {}

  /** The body of a LOCK request for an exclusive write lock owned by this instance. */
  lockBody(): Buffer {
    return Buffer.from(
      '<?xml version="1.0" encoding="utf-8"?>' +
        '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>' +
        `<D:owner>${this.owner}</D:owner></D:lockinfo>`,
    );
  }

  /**
   * Runs this instance's locked sections for one URL one after the other, so that a lock of ours
   * found on it can only be an orphan of an earlier call (see releaseOrphan).
   */
  async oneAtATime<T>(url: URL, fn: () => Promise<T>): Promise<T> {
    const key = url.pathname;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    }
  }

  /**
   * Locks `url` and returns the token (in angle brackets, as the If: header wants it). The LOCK
   * answer is returned as-is when it is neither a success nor "locked", so the caller can react to
   * a missing parent (409).
   */
  async lock(url: URL, what: string): Promise<{ token: string } | { res: DavResponse }> {
    const stale = this.stale.get(url.pathname);
    if (stale !== undefined) await this.unlock(url, stale);
    const send = (): Promise<DavResponse> =>
      this.http.request('LOCK', url, what, {
        headers: { 'content-type': 'application/xml; charset=utf-8', depth: '0', timeout: `Second-${LOCK_TIMEOUT_SECONDS}` },
        body: this.lockBody(),
      });
    const res = await this.whileLocked(async () => {
      const first = await send();
      return first.status === 423 && (await this.releaseOrphan(url, what)) ? send() : first;
    }, what);
    if (!isOk(res)) return { res };
    const token = res.headers.get('lock-token')?.trim();
    if (token === undefined || token === '') throw statusError(res, what);
    return { token: token.startsWith('<') ? token : `<${token}>` };
  }

  /** True when the lock is gone; a lost unlock is remembered and retried before the next lock. */
  async unlock(url: URL, token: string): Promise<boolean> {
    try {
      const res = await this.http.request('UNLOCK', url, `unlock ${url.pathname}`, { headers: { 'lock-token': token } });
      // 400 (Apache), 409, 412: the token is not a lock of this resource (any more).
      if (isOk(res) || res.status === 400 || res.status === 409 || res.status === 412) {
        this.stale.delete(url.pathname);
        return true;
      }
    } catch {
      // fall through: the lock expires by itself
    }
    this.stale.set(url.pathname, token);
    return false;
  }

  /** Waits out another client's lock (423), which lasts one short createOnly upload. */
  async whileLocked(send: () => Promise<DavResponse>, what: string): Promise<DavResponse> {
    const deadline = Date.now() + this.lockWaitMs;
    for (let attempt = 0; ; attempt++) {
      const res = await send();
      if (res.status !== 423) return res;
      if (Date.now() >= deadline) {
        throw transientError(`${what}: locked by another client for more than ${Math.round(this.lockWaitMs / 1000)} s`, {
          maybeApplied: false,
        });
      }
      const delay = Math.min(1000, 5 * 2 ** attempt) * (0.5 + Math.random());
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    }
  }

  /**
   * Releases a lock of ours whose LOCK answer was lost (a retried createOnly would otherwise wait
   * for it to expire). Lock tokens are not secrets in WebDAV: lockdiscovery shows them.
   */
  private async releaseOrphan(url: URL, what: string): Promise<boolean> {
    const res = await this.http.request('PROPFIND', url, what, {
      headers: { depth: '0', 'content-type': 'application/xml; charset=utf-8' },
      body: Buffer.from(LOCKDISCOVERY_BODY),
    });
    if (res.status !== 207) return false;
    const mine = readMultistatus(res, what)[0]?.locks.find((l) => l.owner === this.owner);
    return mine !== undefined && (await this.unlock(url, `<${mine.token}>`));
  }
}
