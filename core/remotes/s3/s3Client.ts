import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3Location } from './s3Url';

export interface S3ClientOptions {
  /** Defaults to the SDK's chain: AWS_ACCESS_KEY_ID/…, AWS_PROFILE and ~/.aws, SSO, IMDS. */
  credentials?: S3ClientConfig['credentials'];
  /** SDK attempts per request. Retrying across calls is the job of the caller's retry wrapper. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  /** How long a connection may stay silent mid-request (not a cap on a slow upload's duration). */
  idleTimeoutMs?: number;
}

export function createS3Client(location: S3Location, options: S3ClientOptions = {}): S3Client {
  const config: S3ClientConfig = {
    forcePathStyle: location.forcePathStyle,
    maxAttempts: options.maxAttempts ?? 2,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      socketTimeout: options.idleTimeoutMs ?? 30_000,
    },
    // Since 3.729 the SDK adds a CRC32 checksum to every write by default; Ceph 16 tolerates it,
    // but several S3-compatible services reject it (Cloudflare R2: 501, aws/aws-sdk-js-v3#6810).
    // Stored objects are authenticated by the engine's encryption anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (location.endpoint !== undefined) config.endpoint = location.endpoint;
  // Self-hosted servers mostly ignore the region, but SigV4 needs one; AWS itself needs the right
  // one, so there it comes from the URL or the SDK's chain (AWS_REGION, the profile).
  const region = location.region ?? (location.endpoint !== undefined ? 'us-east-1' : undefined);
  if (region !== undefined) config.region = region;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  return new S3Client(config);
}
