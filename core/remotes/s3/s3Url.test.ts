import { describe, expect, it } from 'vitest';
import { isCcsError } from '../../common/errors';
import { formatS3Url, parseS3Url } from './s3Url';

function usageMessage(url: string): string {
  try {
    parseS3Url(url);
  } catch (e) {
    expect(isCcsError(e, 'USAGE')).toBe(true);
    return (e as Error).message;
  }
  throw new Error(`expected ${url} to be rejected`);
}

describe('parseS3Url', () => {
  it('reads bucket, prefix, endpoint, region and path style', () => {
    expect(parseS3Url('s3://my-bucket/ccsync/laptop?endpoint=http://127.0.0.1:7480&region=us-east-1&forcePathStyle=true')).toEqual({
      bucket: 'my-bucket',
      prefix: 'ccsync/laptop',
      endpoint: 'http://127.0.0.1:7480',
      region: 'us-east-1',
      forcePathStyle: true,
    });
  });

  it('uses path style by default only with a custom endpoint', () => {
    expect(parseS3Url('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '', forcePathStyle: false });
    expect(parseS3Url('s3://bucket/?endpoint=https://minio.lan').forcePathStyle).toBe(true);
    expect(parseS3Url('s3://bucket?endpoint=https://s3.example.com&forcePathStyle=false').forcePathStyle).toBe(false);
  });

  it('normalizes slashes around the prefix and the endpoint origin', () => {
    expect(parseS3Url('s3://bucket/a/b/').prefix).toBe('a/b');
    expect(parseS3Url('s3://bucket/?endpoint=HTTP://Host.Example:443/').endpoint).toBe('http://host.example:443');
    expect(parseS3Url('s3://bucket?endpoint=https://host.example:443').endpoint).toBe('https://host.example');
  });

  it('round-trips through the canonical form', () => {
    for (const url of [
      's3://bucket',
      's3://bucket/p',
      's3://b.with.dots/deep/pre_fix-1?endpoint=http://127.0.0.1:9000&region=garage',
      's3://bucket?endpoint=https://s3.example.com&forcePathStyle=false',
      's3://bucket?region=eu-central-1&forcePathStyle=true',
    ]) {
      expect(formatS3Url(parseS3Url(url))).toBe(url);
    }
    expect(formatS3Url(parseS3Url('s3://bucket/p/?forcePathStyle=false&endpoint=http://h:1/'))).toBe(
      's3://bucket/p?endpoint=http://h:1&forcePathStyle=false',
    );
  });

  it('refuses credentials in the URL without repeating them', () => {
    for (const url of ['s3://AKIAX:topsecret@bucket/p', 's3://bucket?endpoint=http://user:topsecret@host']) {
      const message = usageMessage(url);
      expect(message).toMatch(/credentials/);
      expect(message).not.toContain('topsecret');
    }
  });

  it('rejects unknown parameters without echoing their values', () => {
    const message = usageMessage('s3://bucket?secretKey=topsecret');
    expect(message).toContain('secretKey');
    expect(message).not.toContain('topsecret');
    expect(usageMessage('s3://bucket?region=a&region=b')).toMatch(/twice/);
  });

  it.each([
    ['s3://', /bucket name/],
    ['s3://Bucket', /bucket name/],
    ['s3://ab', /bucket name/],
    ['s3://under_score', /bucket name/],
    ['s3://a..b', /bucket name/],
    ['s3://bucket:9000/p', /endpoint/],
    ['s3://bucket/a//b', /prefix/],
    ['s3://bucket/a/../b', /prefix/],
    ['s3://bucket/with%20space', /prefix/],
    ['s3://bucket#frag', /fragment/],
    ['s3://bucket?endpoint=ftp://host', /endpoint/],
    ['s3://bucket?endpoint=http://host/path', /no path/],
    ['s3://bucket?endpoint=not a url', /endpoint/],
    ['s3://bucket?region=us east', /region/],
    ['s3://bucket?forcePathStyle=yes', /true or false/],
    ['https://bucket.s3.amazonaws.com', /not an S3 URL/],
  ])('rejects %s', (url, why) => {
    expect(usageMessage(url)).toMatch(why);
  });
});
