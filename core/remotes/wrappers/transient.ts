import { CcsError, isCcsError } from '../../common/errors';

/**
 * A REMOTE_UNREACHABLE error can be worth retrying (a reset, a timeout, a 503) or not (wrong
 * password, connection refused, no such host). Remotes mark the retryable ones here, because the
 * error code alone cannot tell, and ErrorCode is a public contract that should not grow a code per
 * network condition. Symbol.for keeps the mark recognisable across duplicated module instances.
 */
const MARK = Symbol.for('ccsync.remote.transient');

interface TransientMark {
  /** False only when the request certainly never reached the store (nothing can have changed). */
  maybeApplied: boolean;
}

export function transientError(message: string, options: { cause?: unknown; maybeApplied: boolean }): CcsError {
  const e = new CcsError('REMOTE_UNREACHABLE', message, options.cause === undefined ? undefined : { cause: options.cause });
  Object.defineProperty(e, MARK, { value: { maybeApplied: options.maybeApplied } satisfies TransientMark });
  return e;
}

// Network conditions that pass: also recognised in causes, so that remotes which only wrap the
// library error (S3 via the AWS SDK, a folder on a network mount) get retried without marking.
const TRANSIENT_CAUSE_CODES = new Set([
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETDOWN',
  'ENETRESET',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const TRANSIENT_HTTP_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Whether retrying the same call later can reasonably succeed. */
export function isTransient(e: unknown): boolean {
  if (!isCcsError(e, 'REMOTE_UNREACHABLE')) return false;
  if (markOf(e) !== undefined) return true;
  for (let c: unknown = e.cause, depth = 0; c !== undefined && c !== null && depth < 5; depth++) {
    const o = c as { code?: unknown; name?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: unknown } };
    if (typeof o.code === 'string' && TRANSIENT_CAUSE_CODES.has(o.code)) return true;
    if (o.name === 'TimeoutError') return true;
    if (o.$retryable) return true;
    if (typeof o.$metadata?.httpStatusCode === 'number' && TRANSIENT_HTTP_STATUSES.has(o.$metadata.httpStatusCode)) {
      return true;
    }
    c = (c as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether the failed call may nevertheless have taken effect (a lost response). Unknown errors
 * count as "maybe": only a remote that knows the request never left may say otherwise.
 */
export function mayHaveBeenApplied(e: unknown): boolean {
  return markOf(e)?.maybeApplied ?? true;
}

function markOf(e: unknown): TransientMark | undefined {
  return typeof e === 'object' && e !== null ? ((e as Record<symbol, TransientMark | undefined>)[MARK] ?? undefined) : undefined;
}
