import { CcsError } from '../../common/errors';

/** Where an S3 remote lives. Never holds credentials: those come from the AWS default chain. */
export interface S3Location {
  bucket: string;
  /** Key prefix of the store inside the bucket: '' or segments joined by '/', no outer slashes. */
  prefix: string;
  /** Origin of an S3-compatible server (Ceph, MinIO, Garage…); absent for AWS itself. */
  endpoint?: string;
  region?: string;
  forcePathStyle: boolean;
}

// AWS's rules for new buckets; S3-compatible servers accept a subset of what AWS allows.
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_SEGMENT_RE = /^[A-Za-z0-9._-]+$/;
const REGION_RE = /^[A-Za-z0-9_-]{1,64}$/;
const PARAMS = new Set(['endpoint', 'region', 'forcePathStyle']);
const EXAMPLE = 's3://bucket/prefix?endpoint=https://s3.example.com&region=us-east-1';

/**
 * Parses `s3://bucket[/prefix][?endpoint=…&region=…&forcePathStyle=true|false]`. Path-style
 * addressing is the default with a custom endpoint, because most self-hosted servers have no
 * wildcard DNS for virtual-hosted buckets.
 */
export function parseS3Url(url: string): S3Location {
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw usage(`invalid S3 URL ${JSON.stringify(redactS3Url(url))}; use ${EXAMPLE}`, e);
  }
  if (u.protocol !== 's3:') throw usage(`not an S3 URL: ${JSON.stringify(redactS3Url(url))}; use ${EXAMPLE}`);
  if (u.username !== '' || u.password !== '') {
    throw usage(
      'an S3 URL must not contain credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ' +
        '(or AWS_PROFILE) in the environment instead',
    );
  }
  if (u.hash !== '') throw usage(`S3 URL ${JSON.stringify(redactS3Url(url))} must not have a #fragment`);
  if (u.port !== '') {
    throw usage(`S3 URL ${JSON.stringify(redactS3Url(url))}: put the server in ?endpoint=, not after the bucket`);
  }
  const bucket = u.hostname;
  if (!BUCKET_RE.test(bucket) || bucket.includes('..')) {
    throw usage(
      `invalid S3 bucket name ${JSON.stringify(bucket)}: use 3-63 lowercase letters, digits, dots and hyphens`,
    );
  }

  // From the raw text: URL parsing would quietly resolve "a/../b" to "b".
  const prefix = parsePrefix(/^s3:\/\/[^/?#]*([^?#]*)/i.exec(url)?.[1] ?? '');
  const params = parseParams(u.searchParams);
  const endpoint = params.get('endpoint');
  const region = params.get('region');
  if (region !== undefined && !REGION_RE.test(region)) throw usage(`invalid S3 region ${JSON.stringify(region)}`);
  const pathStyle = params.get('forcePathStyle');
  const location: S3Location = {
    bucket,
    prefix,
    forcePathStyle: pathStyle === undefined ? endpoint !== undefined : parseBool(pathStyle),
  };
  if (endpoint !== undefined) location.endpoint = parseEndpoint(endpoint);
  if (region !== undefined) location.region = region;
  return location;
}

/** The canonical URL: one store always yields the same string (for config and comparisons). */
export function formatS3Url(l: S3Location): string {
  const query: string[] = [];
  if (l.endpoint !== undefined) query.push(`endpoint=${l.endpoint}`);
  if (l.region !== undefined) query.push(`region=${l.region}`);
  if (l.forcePathStyle !== (l.endpoint !== undefined)) query.push(`forcePathStyle=${l.forcePathStyle}`);
  return `s3://${l.bucket}${l.prefix ? `/${l.prefix}` : ''}${query.length ? `?${query.join('&')}` : ''}`;
}

/** For messages: no query values or user info, which is where a secret could hide. */
export function redactS3Url(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@').replace(/[?#].*$/s, '?…');
}

function parsePrefix(pathname: string): string {
  const trimmed = pathname.replace(/^\//, '').replace(/\/$/, '');
  if (trimmed === '') return '';
  const segments = trimmed.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  for (const s of segments) {
    if (!PREFIX_SEGMENT_RE.test(s) || s === '.' || s === '..') {
      throw usage(
        `invalid S3 prefix ${JSON.stringify(trimmed)}: each level may contain only letters, digits, '.', '_' and '-'`,
      );
    }
  }
  return segments.join('/');
}

function parseParams(search: URLSearchParams): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of search) {
    // The value is not echoed: a mistyped parameter may well hold a secret.
    if (!PARAMS.has(k)) throw usage(`unknown S3 URL parameter ${JSON.stringify(k)}; known: ${[...PARAMS].join(', ')}`);
    if (out.has(k)) throw usage(`S3 URL parameter ${JSON.stringify(k)} is given twice`);
    out.set(k, v);
  }
  return out;
}

function parseEndpoint(raw: string): string {
  let e: URL;
  try {
    e = new URL(raw);
  } catch (err) {
    throw usage(`invalid S3 endpoint ${JSON.stringify(redactS3Url(raw))}: use http(s)://host[:port]`, err);
  }
  if (e.protocol !== 'http:' && e.protocol !== 'https:') {
    throw usage(`invalid S3 endpoint ${JSON.stringify(redactS3Url(raw))}: use http(s)://host[:port]`);
  }
  if (e.username !== '' || e.password !== '') throw usage('the S3 endpoint must not contain credentials');
  if ((e.pathname !== '/' && e.pathname !== '') || e.search !== '' || e.hash !== '') {
    throw usage(`invalid S3 endpoint ${JSON.stringify(redactS3Url(raw))}: only http(s)://host[:port], no path`);
  }
  return e.origin;
}

function parseBool(v: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw usage(`forcePathStyle must be true or false, not ${JSON.stringify(v)}`);
}

function usage(message: string, cause?: unknown): CcsError {
  return new CcsError('USAGE', message, cause === undefined ? undefined : { cause });
}
