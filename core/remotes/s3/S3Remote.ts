import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CcsError, isCcsError } from '../../common/errors';
import { assertListPrefix } from '../prefix';
import { assertObjectName, type ObjectInfo, type PutOptions, type Remote } from '../remote';
import { abortStaleUploads, uploadMultipart, type MultipartHooks } from './multipart';
import { MemoryMultipartStateStore, type MultipartStateStore } from './multipartState';
import { createS3Client, type S3ClientOptions } from './s3Client';
import {
  isInvalidRange,
  isNoSuchBucket,
  isNotFound,
  isPreconditionFailed,
  mapS3Error,
  type S3ErrorContext,
} from './s3Errors';
import { parseS3Url, type S3Location } from './s3Url';

const MiB = 1024 * 1024;

export interface S3MultipartOptions {
  /** Objects larger than this go up in parts (default 16 MiB). */
  threshold?: number;
  /** Default 8 MiB; grown automatically for objects that would need more than 10,000 parts. */
  partSize?: number;
  /** Parts in flight at once (default 4). */
  concurrency?: number;
  /** Where uploads in progress are remembered (default: in memory, for retries in this process). */
  stateStore?: MultipartStateStore;
  hooks?: MultipartHooks;
}

export interface S3RemoteOptions extends S3ClientOptions {
  /** A ready client (shared, or instrumented by a test); the client options are then ignored. */
  client?: S3Client;
  multipart?: S3MultipartOptions;
}

/**
 * A remote in an S3 bucket (AWS or a compatible server), below a key prefix: object `a/b` is key
 * `<prefix>/a/b`. The bucket must exist; ccsync never creates or deletes buckets. S3 has no
 * directories, so the prefix itself needs no creation either.
 *
 * Puts are atomic by S3's nature (also multipart ones, which appear on completion). createOnly is
 * a conditional PUT (If-None-Match: *), so the server, not a racy HEAD, decides who wins.
 */
export class S3Remote implements Remote {
  readonly description: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly bucket: string;
  private readonly keyPrefix: string;
  private readonly ctx: S3ErrorContext;
  private readonly multipart: Required<Omit<S3MultipartOptions, 'hooks'>> & { hooks?: MultipartHooks };

  constructor(location: S3Location, options: S3RemoteOptions = {}) {
    this.bucket = location.bucket;
    this.keyPrefix = location.prefix === '' ? '' : `${location.prefix}/`;
    const server = location.endpoint ?? 'AWS S3';
    this.description = `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}${
      location.endpoint ? ` at ${location.endpoint}` : ''
    }`;
    this.ctx = { bucket: location.bucket, server };
    this.client = options.client ?? createS3Client(location, options);
    this.ownsClient = options.client === undefined;
    const m = options.multipart ?? {};
    this.multipart = {
      threshold: m.threshold ?? 16 * MiB,
      partSize: m.partSize ?? 8 * MiB,
      concurrency: m.concurrency ?? 4,
      stateStore: m.stateStore ?? new MemoryMultipartStateStore(),
    };
    if (m.hooks) this.multipart.hooks = m.hooks;
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      throw this.fail(e, 'check');
    }
  }

  /** Verifies that the bucket exists: a prefix needs no creating, and buckets are the user's. */
  async create(): Promise<void> {
    await this.check();
  }

  async put(name: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    assertObjectName(name);
    const key = this.keyPrefix + name;
    // createOnly objects (log entries) are small; a single PUT keeps their condition atomic on
    // servers that ignore If-None-Match on CompleteMultipartUpload.
    if (!options?.createOnly && data.byteLength > this.multipart.threshold) {
      await this.putMultipart(name, key, data);
      return;
    }
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: data,
          ContentLength: data.byteLength,
          IfNoneMatch: options?.createOnly ? '*' : undefined,
        }),
      );
    } catch (e) {
      if (options?.createOnly && isPreconditionFailed(e)) {
        throw new CcsError('ALREADY_EXISTS', `${this.description}: object ${name} already exists`, { cause: e });
      }
      throw this.fail(e, `put ${name}`);
    }
  }

  async get(name: string): Promise<Buffer> {
    assertObjectName(name);
    const res = await this.getObject(name);
    const body = await this.readBody(res, name);
    if (res.ContentLength !== undefined && body.length !== res.ContentLength) {
      throw this.truncatedTransfer(name);
    }
    return body;
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertObjectName(name);
    assertRange(offset, length);
    // HTTP cannot ask for zero bytes, so an empty range is only a bounds check.
    if (length === 0) {
      const info = await this.stat(name);
      if (info === null) throw this.missing(name);
      if (offset > info.size) throw this.shortRead(name, offset, length, info.size);
      return Buffer.alloc(0);
    }
    const end = offset + length;
    let res: GetObjectCommandOutput;
    try {
      res = await this.getObject(name, `bytes=${offset}-${end - 1}`);
    } catch (e) {
      if (!isInvalidRange(e)) throw e;
      const info = await this.stat(name);
      if (info === null) throw this.missing(name);
      throw this.shortRead(name, offset, length, info.size);
    }
    const body = await this.readBody(res, name);
    const total = totalFromContentRange(res.ContentRange);
    if (total === undefined) {
      // A server that ignores Range sends the whole object.
      if (body.length < end) throw this.shortRead(name, offset, length, body.length);
      return Buffer.from(body.subarray(offset, end));
    }
    if (total < end) throw this.shortRead(name, offset, length, total);
    if (body.length !== length) throw this.truncatedTransfer(name);
    return body;
  }

  async stat(name: string): Promise<ObjectInfo | null> {
    assertObjectName(name);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + name }));
      return { name, size: res.ContentLength ?? 0 };
    } catch (e) {
      if (!isNotFound(e)) throw this.fail(e, `stat ${name}`);
    }
    // A HEAD 404 has no body, so "no such key" and "no such bucket" look the same; a vanished
    // bucket must not pass for a missing object.
    await this.check();
    return null;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertListPrefix(prefix);
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.keyPrefix + prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined || !o.Key.startsWith(this.keyPrefix)) continue;
          const name = o.Key.slice(this.keyPrefix.length);
          // Keys written by other tools (or with another alphabet) are not objects of this store.
          if (isObjectName(name)) out.push({ name, size: o.Size ?? 0 });
        }
        if (!page.IsTruncated) return out;
        if (!page.NextContinuationToken) {
          throw new CcsError(
            'INTERNAL',
            `${this.description}: list ${JSON.stringify(prefix)}: truncated listing without a continuation token`,
          );
        }
        token = page.NextContinuationToken;
      }
    } catch (e) {
      throw this.fail(e, `list ${JSON.stringify(prefix)}`);
    }
  }

  async delete(name: string): Promise<void> {
    assertObjectName(name);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + name }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw this.fail(e, `delete ${name}`);
    }
  }

  /**
   * Aborts this store's multipart uploads that started more than `olderThanMs` ago (abandoned by
   * crashed processes; the server keeps their parts until then). Returns how many it aborted.
   */
  async abortStaleUploads(olderThanMs: number): Promise<number> {
    try {
      return await abortStaleUploads(this.client, this.bucket, this.keyPrefix, olderThanMs);
    } catch (e) {
      throw this.fail(e, 'abort stale uploads');
    }
  }

  /** Closes idle connections; only needed to let a short-lived process exit promptly. */
  destroy(): void {
    if (this.ownsClient) this.client.destroy();
  }

  private async putMultipart(name: string, key: string, data: Uint8Array): Promise<void> {
    // The content hash makes a resumed upload continue only with the very same bytes.
    const digest = createHash('sha256').update(data).digest('hex');
    const stateKey = `s3://${this.bucket}/${key}#sha256=${digest}`;
    try {
      await uploadMultipart({ client: this.client, bucket: this.bucket, key }, data, stateKey, {
        partSize: this.multipart.partSize,
        concurrency: this.multipart.concurrency,
        store: this.multipart.stateStore,
        ...(this.multipart.hooks ? { hooks: this.multipart.hooks } : {}),
      });
    } catch (e) {
      throw this.fail(e, `put ${name}`);
    }
  }

  private async getObject(name: string, range?: string): Promise<GetObjectCommandOutput> {
    try {
      return await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + name, Range: range }),
      );
    } catch (e) {
      if (isInvalidRange(e)) throw e;
      if (isNoSuchBucket(e)) throw this.fail(e, `get ${name}`);
      if (isNotFound(e)) throw this.missing(name, e);
      throw this.fail(e, `get ${name}`);
    }
  }

  private async readBody(res: GetObjectCommandOutput, name: string): Promise<Buffer> {
    if (res.Body === undefined) return Buffer.alloc(0);
    try {
      const bytes = await res.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (e) {
      throw this.fail(e, `get ${name}`);
    }
  }

  private fail(e: unknown, op: string): CcsError {
    if (isCcsError(e)) return e;
    return mapS3Error(e, `${this.description}: ${op}`, this.ctx);
  }

  private missing(name: string, cause?: unknown): CcsError {
    const message = `${this.description}: object ${name} is missing`;
    return new CcsError('OBJECT_MISSING', message, cause ? { cause } : undefined);
  }

  private shortRead(name: string, offset: number, length: number, end: number): CcsError {
    return new CcsError(
      'OBJECT_CORRUPT',
      `${this.description}: short read of object ${name}: wanted bytes ${offset}..${offset + length} but it ends at ${end} (truncated?)`,
    );
  }

  private truncatedTransfer(name: string): CcsError {
    return new CcsError(
      'REMOTE_UNREACHABLE',
      `${this.description}: get ${name}: the connection ended before the whole response arrived`,
    );
  }
}

/** Opens `s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=…` (see parseS3Url). */
export function openS3Remote(url: string, options?: S3RemoteOptions): S3Remote {
  return new S3Remote(parseS3Url(url), options);
}

function isObjectName(name: string): boolean {
  try {
    assertObjectName(name);
    return true;
  } catch {
    return false;
  }
}

function totalFromContentRange(header: string | undefined): number | undefined {
  const m = header === undefined ? null : /\/(\d+)\s*$/.exec(header);
  return m ? Number(m[1]) : undefined;
}

function assertRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`invalid range: offset ${offset}, length ${length}`);
  }
}
