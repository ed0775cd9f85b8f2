import type { FetchLike } from '../remotes/webdav/davHttp';
import { mulberry32 } from '../remotes/wrappers/FaultyRemote';

/**
 * Transport faults below WebDavRemote, so that its own detection is what gets tested:
 * - reset: the connection is reset before the server sees the request;
 * - serverError: a 503 from an overloaded server or proxy;
 * - lostResponse: the server handles the request, then the connection drops;
 * - truncateBody: the body ends before its Content-Length;
 * - stall: the answer is delayed.
 */
export type FetchFault = 'reset' | 'serverError' | 'lostResponse' | 'truncateBody' | 'stall';

export interface FaultyFetchOptions {
  seed?: number;
  probability?: Partial<Record<FetchFault, number>>;
  stallMs?: number;
  /** Behave like a server without Range support (answers 200 with the whole object). */
  ignoreRange?: boolean;
  /** Behave like a server that ignores If-None-Match. */
  ignoreIfNoneMatch?: boolean;
  /** Behave like a server without WebDAV locking (class 1 only). */
  noLocks?: boolean;
  fetch?: FetchLike;
}

export interface FaultyFetch extends FetchLike {
  injected: Record<FetchFault, number>;
  requests: Array<{ method: string; url: string }>;
  maxInFlight: number;
}

export function faultyFetch(o: FaultyFetchOptions = {}): FaultyFetch {
  const random = mulberry32(o.seed ?? 1);
  const inner: FetchLike = o.fetch ?? ((input, init) => fetch(input, init));
  let inFlight = 0;
  const roll = (fault: FetchFault): boolean => {
    const p = o.probability?.[fault] ?? 0;
    if (p <= 0 || random() >= p) return false;
    f.injected[fault]++;
    return true;
  };
  const reset = (code: string): TypeError =>
    new TypeError('fetch failed', { cause: Object.assign(new Error(`socket error ${code}`), { code }) });

  const f = (async (input: URL, init: RequestInit): Promise<Response> => {
    const method = init.method ?? 'GET';
    f.requests.push({ method, url: input.href });
    inFlight++;
    f.maxInFlight = Math.max(f.maxInFlight, inFlight);
    try {
      const headers = new Headers(init.headers);
      if (o.ignoreRange) headers.delete('range');
      if (o.ignoreIfNoneMatch) headers.delete('if-none-match');
      if (o.noLocks && (method === 'LOCK' || method === 'UNLOCK')) {
        return new Response('LOCK is not supported', { status: 405, statusText: 'Method Not Allowed' });
      }
      if (roll('stall')) await new Promise((r) => setTimeout(r, Math.floor(random() * (o.stallMs ?? 20))));
      if (roll('reset')) throw reset('ECONNRESET');
      if (roll('serverError')) return new Response('overloaded', { status: 503, statusText: 'Service Unavailable' });
      const res = await inner(input, { ...init, headers });
      const lost = roll('lostResponse');
      const truncate = roll('truncateBody');
      if (!lost && !truncate) return res;
      const body = Buffer.from(await res.arrayBuffer());
      if (lost) throw reset('UND_ERR_SOCKET');
      const nullBody = [101, 204, 205, 304].includes(res.status);
      if (nullBody || body.length < 2 || method === 'HEAD') {
        return new Response(nullBody ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
      }
      const out = new Headers(res.headers);
      out.set('content-length', String(body.length));
      return new Response(body.subarray(0, body.length >> 1), { status: res.status, statusText: res.statusText, headers: out });
    } finally {
      inFlight--;
    }
  }) as FaultyFetch;
  f.injected = { reset: 0, serverError: 0, lostResponse: 0, truncateBody: 0, stall: 0 };
  f.requests = [];
  f.maxInFlight = 0;
  return f;
}
