import { CcsError } from '../../common/errors';
import { transientError } from '../wrappers/transient';

export type FetchLike = (input: URL, init: RequestInit) => Promise<Response>;

export interface DavResponse {
  status: number;
  statusText: string;
  headers: Headers;
  body: Buffer;
}

export interface DavHttpOptions {
  fetch: FetchLike;
  /** Basic auth header value, or undefined for anonymous access. */
  authorization: string | undefined;
  /** host:port, for messages. */
  hostPort: string;
  /** Longest wait for the answer to start, and longest pause inside a response body. */
  timeoutMs: number;
  maxConcurrency: number;
}

// The time allowed for an upload grows with its size: a fixed limit would either fail 64 MiB
// packs on a slow uplink or let a dead connection hang a small request for minutes.
const MIN_UPLOAD_BYTES_PER_SECOND = 64 * 1024;

// Causes that mean the request never left this machine, so it cannot have changed the store.
const NOT_SENT = new Set(['UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']);
const TLS_CODE_RE = /^(CERT_|ERR_TLS_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_SSL_)/;

/**
 * One HTTP exchange at a time per slot: bounded concurrency, a timeout on every request, whole
 * bodies read into memory (the Remote interface passes Buffers), and every transport failure
 * turned into a CcsError that names host:port but never the credentials.
 */
export class DavHttp {
  private readonly limiter: Limiter;

  constructor(private readonly o: DavHttpOptions) {
    this.limiter = new Limiter(o.maxConcurrency);
  }

  request(
    method: string,
    url: URL,
    what: string,
    init: { headers?: Record<string, string>; body?: Uint8Array } = {},
  ): Promise<DavResponse> {
    return this.limiter.run(() => this.exchange(method, url, what, init));
  }

  private async exchange(
    method: string,
    url: URL,
    what: string,
    init: { headers?: Record<string, string>; body?: Uint8Array },
  ): Promise<DavResponse> {
    const ctrl = new AbortController();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        ctrl.abort();
      }, ms);
    };
    const headers: Record<string, string> = { ...init.headers };
    if (this.o.authorization !== undefined) headers.authorization = this.o.authorization;
    arm(this.o.timeoutMs + Math.ceil(((init.body?.length ?? 0) / MIN_UPLOAD_BYTES_PER_SECOND) * 1000));
    let answered = false;
    try {
      const res = await this.o.fetch(url, {
        method,
        headers,
        body: init.body,
        redirect: 'manual',
        signal: ctrl.signal,
      });
      answered = true;
      arm(this.o.timeoutMs);
      const chunks: Uint8Array[] = [];
      let got = 0;
      if (res.body !== null) {
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
          got += value.length;
          arm(this.o.timeoutMs);
        }
      }
      // undici notices most short bodies itself; this also covers other fetch implementations.
      const announced = res.headers.get('content-length');
      if (
        announced !== null &&
        method !== 'HEAD' &&
        res.headers.get('content-encoding') === null &&
        /^\d+$/.test(announced) &&
        Number(announced) !== got
      ) {
        throw transientError(`${what}: the response from ${this.o.hostPort} ended after ${got} of ${announced} bytes`, {
          maybeApplied: true,
        });
      }
      return { status: res.status, statusText: res.statusText, headers: res.headers, body: Buffer.concat(chunks, got) };
    } catch (e) {
      if (e instanceof CcsError) throw e;
      throw this.transportError(e, what, timedOut, answered);
    } finally {
      clearTimeout(timer);
    }
  }

  private transportError(e: unknown, what: string, timedOut: boolean, answered: boolean): CcsError {
    const at = this.o.hostPort;
    if (timedOut) {
      return transientError(`${what}: no answer from ${at} within ${this.o.timeoutMs / 1000} s (timeout)`, {
        cause: e,
        maybeApplied: true,
      });
    }
    const code = causeCode(e);
    if (code === 'ECONNREFUSED') {
      return new CcsError('REMOTE_UNREACHABLE', `${what}: cannot connect to ${at}: connection refused (is the server running?)`, {
        cause: e,
      });
    }
    if (code === 'ENOTFOUND') {
      return new CcsError('REMOTE_UNREACHABLE', `${what}: cannot connect to ${at}: host not found`, { cause: e });
    }
    if (code !== undefined && TLS_CODE_RE.test(code)) {
      return new CcsError('REMOTE_UNREACHABLE', `${what}: the TLS certificate of ${at} is not trusted (${code})`, {
        cause: e,
      });
    }
    if (code !== undefined && NOT_SENT.has(code)) {
      return transientError(`${what}: cannot connect to ${at} (${code})`, { cause: e, maybeApplied: false });
    }
    const detail = code ?? (e as Error | undefined)?.message ?? String(e);
    return transientError(`${what}: the connection to ${at} failed${answered ? ' while reading the response' : ''} (${detail})`, {
      cause: e,
      maybeApplied: true,
    });
  }
}

/** The errno-style code of a fetch failure, which undici hides in `cause` (or an AggregateError). */
function causeCode(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c !== undefined && c !== null && depth < 5; depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const inner = (c as { errors?: unknown[] }).errors?.[0];
    if (inner !== undefined) {
      const innerCode = (inner as { code?: unknown }).code;
      if (typeof innerCode === 'string') return innerCode;
    }
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The error for an HTTP status the caller has no special meaning for. */
export function statusError(res: DavResponse, what: string): CcsError {
  const s = res.status;
  const status = `HTTP ${s}${res.statusText ? ` ${res.statusText}` : ''}`;
  if (s === 401) {
    return new CcsError(
      'REMOTE_UNREACHABLE',
      `${what}: authentication failed (${status}); check the user name and password ` +
        '(in the URL, or CCSYNC_WEBDAV_USER and CCSYNC_WEBDAV_PASSWORD)',
    );
  }
  if (s === 403) return new CcsError('REMOTE_UNREACHABLE', `${what}: access denied by the server (${status})`);
  if (s === 507) return new CcsError('DISK_FULL', `${what}: the server has no space left (${status})`);
  if (s === 413) {
    return new CcsError('REMOTE_UNREACHABLE', `${what}: the server refuses a request this large (${status}); raise its upload limit`);
  }
  if (s >= 300 && s < 400) {
    const location = res.headers.get('location');
    return new CcsError(
      'REMOTE_UNREACHABLE',
      `${what}: the server redirects (${status}${location ? ` to ${redactLocation(location)}` : ''}); use the final URL`,
    );
  }
  if (s === 408 || s === 429 || (s >= 500 && s !== 501 && s !== 505)) {
    return transientError(`${what}: the server failed (${status})`, { maybeApplied: true });
  }
  return new CcsError('REMOTE_UNREACHABLE', `${what}: unexpected answer from the server (${status})`);
}

function redactLocation(location: string): string {
  return location.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@').replace(/[?#].*$/s, '');
}

export function isOk(res: DavResponse): boolean {
  return res.status >= 200 && res.status < 300;
}

class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in.
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
