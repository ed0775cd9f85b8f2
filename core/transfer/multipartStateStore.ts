import { CcsError } from '../common/errors';
import type { TransferState } from './transferState';

/** The S3 remote's resume state of one multipart upload (its interface; keep these fields). */
export interface MultipartState {
  uploadId: string;
  partSize: number;
  parts: { partNumber: number; etag: string; size: number }[];
}

export interface MultipartStateStore {
  load(key: string): Promise<MultipartState | null>;
  save(key: string, state: MultipartState): Promise<void>;
  clear(key: string): Promise<void>;
}

/**
 * MultipartStateStore on TransferState. `save` receives the whole state after every part, so it
 * writes only the parts it has not written yet (remembered per key): saving part n costs O(n)
 * comparisons in memory, not n rows rewritten.
 */
export function multipartStateStore(transfers: TransferState): MultipartStateStore {
  const written = new Map<string, { uploadId: string; partSize: number; parts: Map<number, string> }>();
  const signature = (p: { etag: string; size: number }): string => `${p.size}/${p.etag}`;

  const known = (key: string) => {
    let k = written.get(key);
    if (!k) {
      const r = transfers.get(key);
      if (!r || r.uploadId === null || r.partSize === null) return null;
      k = { uploadId: r.uploadId, partSize: r.partSize, parts: new Map(r.parts.map((p) => [p.partNumber, signature({ etag: p.etag ?? '', size: p.size })])) };
      written.set(key, k);
    }
    return k;
  };

  return {
    async load(key) {
      written.delete(key);
      const r = transfers.get(key);
      if (!r || r.uploadId === null || r.partSize === null) return null;
      return { uploadId: r.uploadId, partSize: r.partSize, parts: r.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag ?? '', size: p.size })) };
    },

    async save(key, state) {
      if (typeof state?.uploadId !== 'string' || !Number.isSafeInteger(state.partSize) || !Array.isArray(state.parts)) {
        throw new CcsError('INTERNAL', `multipart state for ${key} is malformed`);
      }
      let k = known(key);
      const listed = new Set(state.parts.map((p) => p.partNumber));
      const lostParts = k !== null && [...k.parts.keys()].some((n) => !listed.has(n));
      if (k === null || k.uploadId !== state.uploadId || k.partSize !== state.partSize || lostParts) {
        transfers.start(key, { uploadId: state.uploadId, partSize: state.partSize });
        k = { uploadId: state.uploadId, partSize: state.partSize, parts: new Map() };
        written.set(key, k);
      }
      const fresh = state.parts.filter((p) => k.parts.get(p.partNumber) !== signature(p));
      if (fresh.length === 0) return;
      transfers.confirmParts(key, fresh.map((p) => ({ partNumber: p.partNumber, size: p.size, etag: p.etag })));
      for (const p of fresh) k.parts.set(p.partNumber, signature(p));
    },

    async clear(key) {
      written.delete(key);
      transfers.clear(key);
    },
  };
}
