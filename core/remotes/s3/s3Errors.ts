import { CcsError, isCcsError } from '../../common/errors';

/**
 * Turning AWS SDK errors into CcsErrors. HEAD responses have no body, so for them the SDK only
 * knows the status ("NotFound", "Forbidden"); everything here therefore looks at the HTTP status
 * as well as the error name. Messages are built from names and statuses, never from the server's
 * text or the request, so they cannot leak a signature or a key.
 */

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  errors?: unknown[];
  cause?: unknown;
}

export function httpStatus(e: unknown): number | undefined {
  return (e as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

export function errorName(e: unknown): string {
  const s = e as SdkErrorShape | undefined;
  return s?.name ?? 'Error';
}

/** The object (or upload) is not there, and the bucket may or may not be. */
export function isNotFound(e: unknown): boolean {
  const n = errorName(e);
  return n === 'NoSuchKey' || n === 'NotFound' || n === 'NoSuchUpload' || (httpStatus(e) === 404 && n !== 'NoSuchBucket');
}

export function isNoSuchBucket(e: unknown): boolean {
  return errorName(e) === 'NoSuchBucket';
}

export function isNoSuchUpload(e: unknown): boolean {
  return errorName(e) === 'NoSuchUpload';
}

/** A conditional write lost: the object exists (412), or a concurrent conditional write won (409). */
export function isPreconditionFailed(e: unknown): boolean {
  const n = errorName(e);
  return httpStatus(e) === 412 || n === 'PreconditionFailed' || n === 'ConditionalRequestConflict';
}

/** A range that starts past the end of the object (416). */
export function isInvalidRange(e: unknown): boolean {
  return errorName(e) === 'InvalidRange' || httpStatus(e) === 416;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'NetworkingError', 'AbortError']);
const AUTH_NAMES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'Forbidden',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidSecurity',
]);
const SERVER_BUSY_NAMES = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeTooSkewed',
  'OperationAborted',
  'Throttling',
  'ThrottlingException',
]);

/** The errno-style code of a network failure, looking through the wrappers Node and the SDK add. */
function networkCode(e: unknown, depth = 0): string | undefined {
  const s = e as SdkErrorShape | undefined;
  if (s === undefined || s === null || depth > 4) return undefined;
  if (typeof s.code === 'string' && NETWORK_CODES.has(s.code)) return s.code;
  for (const inner of s.errors ?? []) {
    const c = networkCode(inner, depth + 1);
    if (c) return c;
  }
  return networkCode(s.cause, depth + 1);
}

export interface S3ErrorContext {
  bucket: string;
  /** The server, for messages: an endpoint URL or "AWS S3". */
  server: string;
}

/**
 * The CcsError for a failed request. `what` says which operation failed ("s3://b/p: get x").
 * Object-level outcomes (missing object, failed precondition, bad range) are the caller's to
 * handle first; what reaches this function is about the store as a whole.
 */
export function mapS3Error(e: unknown, what: string, ctx: S3ErrorContext): CcsError {
  if (isCcsError(e)) return e;
  const name = errorName(e);
  const status = httpStatus(e);
  const statusText = status === undefined ? name : `${name}, HTTP ${status}`;
  const err = (code: 'REMOTE_UNREACHABLE' | 'REMOTE_NOT_FOUND' | 'USAGE' | 'INTERNAL', message: string) =>
    new CcsError(code, `${what}: ${message}`, { cause: e });

  const net = networkCode(e);
  if (net !== undefined || (status === undefined && NETWORK_NAMES.has(name))) {
    return err('REMOTE_UNREACHABLE', `cannot reach the S3 server ${ctx.server} (${net ?? name})`);
  }
  if (name === 'CredentialsProviderError') {
    return err(
      'REMOTE_UNREACHABLE',
      'authentication failed: no S3 credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE',
    );
  }
  if (status === undefined && /region is missing/i.test((e as SdkErrorShape | undefined)?.message ?? '')) {
    return err('USAGE', 'no S3 region configured: add ?region=… to the remote URL or set AWS_REGION');
  }
  if (name === 'NoSuchBucket' || (status === 404 && name === 'NotFound')) {
    return err('REMOTE_NOT_FOUND', bucketMissingMessage(ctx));
  }
  if (status === 403 || AUTH_NAMES.has(name)) {
    return err(
      'REMOTE_UNREACHABLE',
      `authentication failed (${statusText}): check the access key and secret key, and that they may use ` +
        `bucket ${JSON.stringify(ctx.bucket)} on ${ctx.server}`,
    );
  }
  if (status === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
    return err(
      'REMOTE_UNREACHABLE',
      `bucket ${JSON.stringify(ctx.bucket)} answers from another region (${statusText}); add ?region=… to the remote URL`,
    );
  }
  if ((status !== undefined && (status >= 500 || status === 429 || status === 408)) || SERVER_BUSY_NAMES.has(name)) {
    return err('REMOTE_UNREACHABLE', `the S3 server ${ctx.server} failed the request (${statusText}); try again later`);
  }
  // Without a status the error never came from the server (the SDK's own checks, a bug here), so
  // its message carries no server text and is worth showing.
  const detail = status === undefined ? `${name}: ${(e as SdkErrorShape | undefined)?.message ?? String(e)}` : statusText;
  return err('INTERNAL', `unexpected S3 error (${detail})`);
}

export function bucketMissingMessage(ctx: S3ErrorContext): string {
  return (
    `bucket ${JSON.stringify(ctx.bucket)} does not exist on ${ctx.server}. ` +
    'The bucket must exist: ccsync does not create buckets, so create it with your provider’s console or CLI first'
  );
}
