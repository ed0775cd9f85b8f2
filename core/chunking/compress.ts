import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { CcsError } from '../common/errors';

/**
 * Per-chunk compression. 'deflate' is raw DEFLATE (RFC 1951, no zlib header or checksum): chunk
 * integrity is already guaranteed by the content hash and AEAD, so a second checksum buys nothing.
 * node:zlib: at level 1 it deflates text ~2.5x faster than fflate (on par on random data, see
 * bench/chunking.mjs), and it is available in Node and in Electron's main and utility processes.
 */
export type Codec = 'none' | 'deflate'; // 'zstd' and 'brotli' come later: add to CODEC_IDS and CODECS

/** Stored in chunk metadata: never renumber. */
export const CODEC_IDS: Record<Codec, number> = { none: 0, deflate: 1 };

interface CodecImpl {
  compress(data: Buffer): Buffer;
  /** Must never produce more than maxOutput bytes, whatever the input claims. */
  decompress(data: Buffer, maxOutput: number): Buffer;
}

// Level 1: on already-small chunks higher levels gain a few percent for several times the CPU.
const DEFLATE_OPTS = { level: 1 } as const;

const CODECS: Record<Exclude<Codec, 'none'>, CodecImpl> = {
  deflate: {
    compress: (data) => deflateRawSync(data, DEFLATE_OPTS),
    // One output buffer one byte larger than expected: a valid stream fits without a concat copy,
    // and an oversized one trips maxOutputLength after a single allocation.
    decompress: (data, maxOutput) =>
      inflateRawSync(data, { maxOutputLength: Math.max(1, maxOutput), chunkSize: Math.max(64, maxOutput + 1) }),
  },
};

const BY_ID = new Map<number, Codec>(Object.entries(CODEC_IDS).map(([codec, id]) => [id, codec as Codec]));

export function codecFromId(id: number): Codec {
  const codec = BY_ID.get(id);
  if (codec === undefined) {
    throw new CcsError('CODEC_UNAVAILABLE', `chunk compressed with codec id ${id}, which this version cannot decode`);
  }
  return codec;
}

function implFor(codec: Codec): CodecImpl {
  const impl = (CODECS as Partial<Record<string, CodecImpl>>)[codec];
  if (impl === undefined) throw new CcsError('CODEC_UNAVAILABLE', `codec ${String(codec)} is not available in this version`);
  return impl;
}

// Below ~3% the saving does not pay for decompressing on every read.
const MIN_SAVING = 0.03;
// Deflate's window is 32 KiB, so 8 KiB from the middle (past file headers) predicts the whole well enough.
const SAMPLE = 8 * 1024;

function saves(packed: number, raw: number): boolean {
  return packed <= raw * (1 - MIN_SAVING);
}

export function compressChunk(data: Buffer, preferred: Codec): { codec: Codec; data: Buffer } {
  const none = { codec: 'none' as const, data };
  if (preferred === 'none' || data.length === 0) return none;
  const impl = implFor(preferred);
  // Random and already-compressed data (media, archives) are common and cost full CPU for nothing.
  if (data.length > 2 * SAMPLE) {
    const mid = (data.length - SAMPLE) >>> 1;
    if (!saves(impl.compress(data.subarray(mid, mid + SAMPLE)).length, SAMPLE)) return none;
  }
  const packed = impl.compress(data);
  return saves(packed.length, data.length) ? { codec: preferred, data: packed } : none;
}

function corrupt(message: string, cause?: unknown): CcsError {
  return new CcsError('OBJECT_CORRUPT', message, cause === undefined ? undefined : { cause });
}

/**
 * rawLength comes from the chunk's metadata; output is capped at it so a crafted chunk cannot
 * inflate into gigabytes (zip bomb). Content is not verified here: the caller checks the chunk hash.
 */
export function decompressChunk(codec: Codec, data: Buffer, rawLength: number): Buffer {
  if (!Number.isSafeInteger(rawLength) || rawLength < 0) throw corrupt(`chunk has an invalid raw length ${rawLength}`);
  if (codec === 'none') {
    if (data.length !== rawLength) throw corrupt(`stored chunk is ${data.length} bytes, expected ${rawLength}`);
    return data;
  }
  const impl = implFor(codec);
  let out: Buffer;
  try {
    out = impl.decompress(data, rawLength);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw corrupt(`${codec} chunk inflates beyond its recorded length of ${rawLength} bytes`, e);
    }
    throw corrupt(`${codec} chunk does not decompress: ${(e as Error).message}`, e);
  }
  if (out.length !== rawLength) throw corrupt(`${codec} chunk inflated to ${out.length} bytes, expected ${rawLength}`);
  return out;
}
