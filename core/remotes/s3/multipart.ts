import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isNoSuchUpload, isNotFound } from './s3Errors';
import type { MultipartPart, MultipartState, MultipartStateStore } from './multipartState';

const MiB = 1024 * 1024;
/** S3's floor for every part but the last. */
export const MIN_PART_SIZE = 5 * MiB;
const MAX_PARTS = 10_000;

export interface MultipartHooks {
  /** Right before a part's bytes go out: counts the parts actually sent. */
  onPartSent?(partNumber: number): void;
  /**
   * After a part is confirmed and its state saved, with the number of parts confirmed by this
   * call. Throwing stops the upload as a crash would: no later part is recorded.
   */
  onPartConfirmed?(confirmed: number): void;
}

export interface MultipartConfig {
  partSize: number;
  concurrency: number;
  store: MultipartStateStore;
  hooks?: MultipartHooks;
}

export interface MultipartTarget {
  client: S3Client;
  bucket: string;
  key: string;
}

export interface MultipartResult {
  partsSent: number;
  partsReused: number;
}

/**
 * Uploads `data` as one multipart object, resuming the upload recorded under `stateKey` if
 * there is one. Every confirmed part is saved before it counts, so after a crash only parts the
 * server never confirmed are sent again. The server is the authority when resuming: a recorded
 * part it does not list with the same size and ETag is sent again.
 *
 * On failure the upload is left in place (and recorded) for the next attempt; uploads nobody
 * resumes are removed by abortStaleUploads.
 */
export async function uploadMultipart(
  t: MultipartTarget,
  data: Uint8Array,
  stateKey: string,
  cfg: MultipartConfig,
): Promise<MultipartResult> {
  let state = await resumable(t, data.byteLength, stateKey, cfg);
  let partsReused = state?.parts.length ?? 0;
  if (state === null) {
    const partSize = choosePartSize(data.byteLength, cfg.partSize);
    const created = await t.client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: t.key }));
    if (!created.UploadId) throw new Error(`CreateMultipartUpload for ${t.key} returned no upload id`);
    state = { uploadId: created.UploadId, partSize, parts: [] };
    // Recorded before any part is sent, so even a crash right now leaves nothing untracked.
    await cfg.store.save(stateKey, state);
    partsReused = 0;
  }

  const { uploadId, partSize } = state;
  const total = partCount(data.byteLength, partSize);
  const done = new Map(state.parts.map((p) => [p.partNumber, p]));
  const todo: number[] = [];
  for (let n = 1; n <= total; n++) if (!done.has(n)) todo.push(n);

  let partsSent = 0;
  let confirmedHere = 0;
  let stopped = false;
  // Confirmations are applied one at a time, so the saved list only grows and a crash in the
  // hook leaves exactly the parts confirmed before it.
  let confirming: Promise<void> = Promise.resolve();
  const confirm = (part: MultipartPart): Promise<void> => {
    const next = confirming.then(async () => {
      if (stopped) return;
      try {
        done.set(part.partNumber, part);
        await cfg.store.save(stateKey, { uploadId, partSize, parts: sortedParts(done) });
        confirmedHere++;
        cfg.hooks?.onPartConfirmed?.(confirmedHere);
      } catch (e) {
        stopped = true;
        throw e;
      }
    });
    confirming = next.catch(() => undefined);
    return next;
  };

  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (!stopped && nextIndex < todo.length) {
      const n = todo[nextIndex++] as number;
      const start = (n - 1) * partSize;
      const body = data.subarray(start, Math.min(start + partSize, data.byteLength));
      cfg.hooks?.onPartSent?.(n);
      partsSent++;
      const res = await t.client.send(
        new UploadPartCommand({
          Bucket: t.bucket,
          Key: t.key,
          UploadId: uploadId,
          PartNumber: n,
          Body: body,
          ContentLength: body.byteLength,
        }),
      );
      if (!res.ETag) throw new Error(`UploadPart ${n} of ${t.key} returned no ETag`);
      await confirm({ partNumber: n, etag: res.ETag, size: body.byteLength });
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(cfg.concurrency, todo.length)) }, () =>
      worker().catch((e: unknown) => {
        stopped = true;
        throw e;
      }),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;

  try {
    // The response's ETag is not used: Ceph may return an empty one for a completed upload.
    await t.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: t.bucket,
        Key: t.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: sortedParts(done).map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
      }),
    );
  } catch (e) {
    // The upload or one of its parts is gone: the record can only mislead the next attempt.
    if (isNoSuchUpload(e) || (e as Error | undefined)?.name === 'InvalidPart') await cfg.store.clear(stateKey);
    throw e;
  }
  await cfg.store.clear(stateKey);
  return { partsSent, partsReused };
}

/**
 * Aborts multipart uploads under `keyPrefix` started more than `olderThanMs` ago: leftovers of
 * crashed processes, which the server keeps (and bills) until someone aborts them. Returns how
 * many were aborted.
 */
export async function abortStaleUploads(
  client: S3Client,
  bucket: string,
  keyPrefix: string,
  olderThanMs: number,
  now = Date.now(),
): Promise<number> {
  const cutoff = now - olderThanMs;
  const stale: Array<{ key: string; uploadId: string }> = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        Prefix: keyPrefix,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }),
    );
    for (const u of page.Uploads ?? []) {
      if (u.Key && u.UploadId && u.Initiated && u.Initiated.getTime() < cutoff) {
        stale.push({ key: u.Key, uploadId: u.UploadId });
      }
    }
    if (!page.IsTruncated) break;
    if (page.NextKeyMarker === undefined && page.NextUploadIdMarker === undefined) {
      throw new Error('ListMultipartUploads is truncated but gives no marker to continue from');
    }
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
  let aborted = 0;
  for (const u of stale) {
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId }));
      aborted++;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return aborted;
}

/** The saved state reconciled with the server, or null when there is nothing to resume. */
async function resumable(
  t: MultipartTarget,
  size: number,
  stateKey: string,
  cfg: MultipartConfig,
): Promise<MultipartState | null> {
  const saved = await cfg.store.load(stateKey);
  if (saved === null) return null;
  const { uploadId, partSize } = saved;
  if (partSize < MIN_PART_SIZE || partCount(size, partSize) > MAX_PARTS) {
    await abandon(t, uploadId);
    await cfg.store.clear(stateKey);
    return null;
  }
  let onServer: Map<number, { etag: string; size: number }>;
  try {
    onServer = await listParts(t, uploadId);
  } catch (e) {
    if (!isNoSuchUpload(e) && !isNotFound(e)) throw e;
    await cfg.store.clear(stateKey);
    return null;
  }
  const total = partCount(size, partSize);
  const parts = saved.parts.filter((p) => {
    const s = onServer.get(p.partNumber);
    return (
      p.partNumber <= total &&
      s !== undefined &&
      s.size === p.size &&
      p.size === expectedPartSize(size, partSize, p.partNumber) &&
      unquote(s.etag) === unquote(p.etag)
    );
  });
  const state = { uploadId, partSize, parts };
  if (parts.length !== saved.parts.length) await cfg.store.save(stateKey, state);
  return state;
}

async function listParts(t: MultipartTarget, uploadId: string): Promise<Map<number, { etag: string; size: number }>> {
  const out = new Map<number, { etag: string; size: number }>();
  let marker: string | undefined;
  for (;;) {
    const page = await t.client.send(
      new ListPartsCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId, PartNumberMarker: marker }),
    );
    for (const p of page.Parts ?? []) {
      if (p.PartNumber !== undefined && p.ETag && p.Size !== undefined) {
        out.set(p.PartNumber, { etag: p.ETag, size: p.Size });
      }
    }
    if (!page.IsTruncated) return out;
    if (!page.NextPartNumberMarker || page.NextPartNumberMarker === marker) {
      throw new Error('ListParts is truncated but gives no marker to continue from');
    }
    marker = page.NextPartNumberMarker;
  }
}

async function abandon(t: MultipartTarget, uploadId: string): Promise<void> {
  try {
    await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId }));
  } catch {
    // Best effort: abortStaleUploads catches whatever this misses.
  }
}

/** The configured size, grown in whole MiB when the object would need more than 10,000 parts. */
export function choosePartSize(size: number, preferred: number): number {
  const floor = Math.max(preferred, MIN_PART_SIZE);
  return Math.max(floor, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

function partCount(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}

function expectedPartSize(size: number, partSize: number, n: number): number {
  return Math.min(partSize, size - (n - 1) * partSize);
}

function sortedParts(parts: Map<number, MultipartPart>): MultipartPart[] {
  return [...parts.values()].sort((a, b) => a.partNumber - b.partNumber);
}

/** Servers differ in whether they quote ETags (and Ceph's If-Match wants them bare). */
function unquote(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}
