import { describe, expect, it } from 'vitest';
import { isCcsError } from '../../common/errors';
import { isTransient, mayHaveBeenApplied } from '../wrappers/transient';
import { DavHttp, statusError, type FetchLike } from './davHttp';

const URL_ = new URL('https://dav.example.com/dav/x');

function http(fetch: FetchLike, timeoutMs = 1000): DavHttp {
  return new DavHttp({ fetch, authorization: 'Basic c2VjcmV0OnNlY3JldA==', hostPort: 'dav.example.com:443', timeoutMs, maxConcurrency: 2 });
}

function failing(code: string): FetchLike {
  return async () => {
    throw new TypeError('fetch failed', { cause: Object.assign(new Error(`getaddrinfo ${code}`), { code }) });
  };
}

async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error & { code?: string },
  );
}

describe('DavHttp transport errors', () => {
  it.each([
    ['ECONNREFUSED', /cannot connect to dav.example.com:443: connection refused/, false, true],
    ['ENOTFOUND', /cannot connect to dav.example.com:443: host not found/, false, true],
    ['CERT_HAS_EXPIRED', /TLS certificate of dav.example.com:443 is not trusted \(CERT_HAS_EXPIRED\)/, false, true],
    ['EAI_AGAIN', /cannot connect to dav.example.com:443 \(EAI_AGAIN\)/, true, false],
    ['UND_ERR_CONNECT_TIMEOUT', /cannot connect to dav.example.com:443/, true, false],
    ['ECONNRESET', /connection to dav.example.com:443 failed \(ECONNRESET\)/, true, true],
  ])('%s', async (code, message, transient, maybeApplied) => {
    const err = await failure(http(failing(code)).request('GET', URL_, 'get x'));
    expect(err.code).toBe('REMOTE_UNREACHABLE');
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('c2VjcmV0');
    expect(isTransient(err)).toBe(transient);
    if (transient) expect(mayHaveBeenApplied(err)).toBe(maybeApplied);
  });

  it('a refused connection hidden in an AggregateError (IPv4 and IPv6) is still "refused"', async () => {
    const fetch: FetchLike = async () => {
      throw new TypeError('fetch failed', { cause: new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]) });
    };
    expect((await failure(http(fetch).request('GET', URL_, 'get x'))).message).toMatch(/connection refused/);
  });

  it('a body that stops arriving times out, also after the headers came', async () => {
    const fetch: FetchLike = async (_url, init) =>
      new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new Uint8Array([1, 2, 3]));
            init.signal?.addEventListener('abort', () => c.error(init.signal!.reason));
          },
        }),
        { status: 200 },
      );
    const err = await failure(http(fetch, 50).request('GET', URL_, 'get x'));
    expect(err.message).toMatch(/no answer from dav.example.com:443 within 0.05 s \(timeout\)/);
    expect(isTransient(err)).toBe(true);
  });
});

describe('statusError', () => {
  const res = (status: number, headers: Record<string, string> = {}) => ({
    status,
    statusText: '',
    headers: new Headers(headers),
    body: Buffer.alloc(0),
  });

  it('maps statuses to codes and retryability', () => {
    expect(statusError(res(401), 'w').message).toMatch(/authentication failed \(HTTP 401\)/);
    expect(isTransient(statusError(res(401), 'w'))).toBe(false);
    expect(statusError(res(403), 'w').message).toMatch(/access denied/);
    expect(isCcsError(statusError(res(507), 'w'), 'DISK_FULL')).toBe(true);
    for (const s of [408, 429, 500, 502, 503, 504]) expect(isTransient(statusError(res(s), 'w')), String(s)).toBe(true);
    for (const s of [400, 405, 413, 501]) expect(isTransient(statusError(res(s), 'w')), String(s)).toBe(false);
  });

  it('names a redirect target without its credentials or query', () => {
    const msg = statusError(res(301, { location: 'https://u:pw@other.example.com/dav/?token=t' }), 'w').message;
    expect(msg).toContain('https://***@other.example.com/dav/');
    expect(msg).not.toContain('pw');
    expect(msg).not.toContain('token');
  });
});
