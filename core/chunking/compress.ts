import * as zlib from 'node:zlib';
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { CcsError } from '../common/errors';

/**
 * Per-chunk compression. The vault's manifest names the codec new chunks are written with; every
 * chunk records the codec it was actually stored with (its id below), so a reader decodes each chunk
 * on its own and a device can read any chunk whose codec its runtime has.
 *
 * - 'deflate' is raw DEFLATE (RFC 1951, no zlib header or checksum): chunk integrity is already
 *   guaranteed by the content hash and AEAD, so a second checksum buys nothing. node:zlib: at level
 *   1 it deflates text ~2.5x faster than fflate (on par on random data, see bench/chunking.mjs), and
 *   it is available in Node and in Electron's main and utility processes.
 * - 'brotli' is in node:zlib on every supported runtime.
 * - 'zstd' is in node:zlib only from Node 22.15 and Electron 39; detected by feature, never by
 *   version, so a runtime that has it uses it whatever its version string says.
 */
export type Codec = 'none' | 'deflate' | 'brotli' | 'zstd';

/** Stored in chunk metadata: never renumber. */
export const CODEC_IDS: Record<Codec, number> = { none: 0, deflate: 1, brotli: 2, zstd: 3 };

interface CodecImpl {
  compress(data: Buffer): Buffer;
  /** Must never produce more than maxOutput bytes, whatever the input claims. */
  decompress(data: Buffer, maxOutput: number): Buffer;
}

/**
 * One output buffer one byte larger than expected: a valid stream fits without a concat copy, and
 * an oversized one trips maxOutputLength (ERR_BUFFER_TOO_LARGE) after a single allocation.
 */
function bounded(maxOutput: number): { maxOutputLength: number; chunkSize: number } {
  return { maxOutputLength: Math.max(1, maxOutput), chunkSize: Math.max(64, maxOutput + 1) };
}

// Level 1: on already-small chunks higher levels gain a few percent for several times the CPU.
const DEFLATE_OPTS = { level: 1 } as const;

// Brotli is the codec a vault picks for smaller uploads, so its quality sits at the ratio knee, as
// measured on Claude-Code-like text in default CDC chunks (64 KiB–1 MiB; `node bench/codecs.mjs`,
// docs/BENCHMARKS.md), ratio / compress MB/s on one core: deflate-1 3.44 / 192; brotli q2
// 3.94 / 203, q4 4.04 / 118, q5 4.32 / 72, q6 4.41 / 60, q7 4.50 / 46. q5 is the last big step
// (~20% less stored than deflate-1); q6+ cost 20–60% more CPU for 2–4%. Decoding runs at ~700 MB/s
// from q3 up, like deflate. The window: a default chunk (at most 1 MiB) fits brotli's default 4 MiB
// window, and smaller windows (lgwin 18–20) measured no faster; the size hint (the chunk length,
// brotli's documented input-size hint for one-shot use) measured neutral and costs nothing.
const BROTLI_QUALITY = 5;
const brotliOpts = (size: number) => ({
  params: {
    [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
    [constants.BROTLI_PARAM_SIZE_HINT]: size,
  },
});

// zstd's own default level (ZSTD_CLEVEL_DEFAULT). Not measured here (Node 20 has no zstd);
// bench/codecs.mjs adds zstd rows wherever the runtime has it.
const ZSTD_LEVEL = 3;

type ZlibTransform = (data: Buffer, options: { params?: Record<number, number>; maxOutputLength?: number; chunkSize?: number }) => Buffer;

/** The zstd entry points of node:zlib, looked up by feature (@types/node 20 does not declare them). */
function zstdImpl(mod: object): CodecImpl | null {
  const z = mod as { zstdCompressSync?: unknown; zstdDecompressSync?: unknown; constants?: { ZSTD_c_compressionLevel?: unknown } };
  const level = z.constants?.ZSTD_c_compressionLevel;
  if (typeof z.zstdCompressSync !== 'function' || typeof z.zstdDecompressSync !== 'function' || typeof level !== 'number') return null;
  const compress = z.zstdCompressSync as ZlibTransform;
  const decompress = z.zstdDecompressSync as ZlibTransform;
  return {
    compress: (data) => compress(data, { params: { [level]: ZSTD_LEVEL } }),
    decompress: (data, maxOutput) => decompress(data, bounded(maxOutput)),
  };
}

const ZSTD = zstdImpl(zlib);

const IMPLS: Partial<Record<Codec, CodecImpl>> = {
  deflate: {
    compress: (data) => deflateRawSync(data, DEFLATE_OPTS),
    decompress: (data, maxOutput) => inflateRawSync(data, bounded(maxOutput)),
  },
  brotli: {
    compress: (data) => brotliCompressSync(data, brotliOpts(data.length)),
    decompress: (data, maxOutput) => brotliDecompressSync(data, bounded(maxOutput)),
  },
  ...(ZSTD ? { zstd: ZSTD } : {}),
};

const BY_ID = new Map<number, Codec>(Object.entries(CODEC_IDS).map(([codec, id]) => [id, codec as Codec]));

/** The codecs this runtime can both encode and decode, in id order. */
export function availableCodecs(): Codec[] {
  return (Object.keys(CODEC_IDS) as Codec[]).filter((c) => c === 'none' || IMPLS[c] !== undefined);
}

function runtime(): string {
  const electron = process.versions.electron;
  return electron ? `Electron ${electron}, Node ${process.version}` : `Node ${process.version}`;
}

/**
 * Throws CODEC_UNAVAILABLE unless this runtime can encode and decode `codec`. `subject` says where
 * the codec comes from (the vault, a chunk, the user's choice) for the message.
 */
export function assertCodecAvailable(codec: Codec, subject = `this vault compresses with ${codec}`): void {
  if (codec === 'none' || IMPLS[codec] !== undefined) return;
  if (!Object.hasOwn(CODEC_IDS, codec)) {
    throw new CcsError('CODEC_UNAVAILABLE', `codec ${String(codec)} is not known to this version; known codecs: ${Object.keys(CODEC_IDS).join(', ')}`);
  }
  const remedy = codec === 'zstd' ? 'use Node ≥ 22.15 or the desktop app (Electron ≥ 39)' : 'use a runtime that has it';
  throw new CcsError('CODEC_UNAVAILABLE', `${subject}, which this runtime (${runtime()}) cannot decode or encode; ${remedy}`);
}

export function codecFromId(id: number): Codec {
  const codec = BY_ID.get(id);
  if (codec === undefined) {
    throw new CcsError('CODEC_UNAVAILABLE', `chunk compressed with codec id ${id}, which this version cannot decode`);
  }
  return codec;
}

function implFor(codec: Exclude<Codec, 'none'>, subject: string): CodecImpl {
  assertCodecAvailable(codec, subject);
  return IMPLS[codec]!;
}

// Below ~3% the saving does not pay for decompressing on every read.
const MIN_SAVING = 0.03;
// Only a test for incompressible data (media, archives, random), not a ratio estimate: 8 KiB from
// the middle (past file headers) is within every codec's window and tells the two apart reliably.
const SAMPLE = 8 * 1024;

function saves(packed: number, raw: number): boolean {
  return packed <= raw * (1 - MIN_SAVING);
}

export function compressChunk(data: Buffer, preferred: Codec): { codec: Codec; data: Buffer } {
  const none = { codec: 'none' as const, data };
  if (preferred === 'none') return none;
  const impl = implFor(preferred, `this vault compresses with ${preferred}`);
  if (data.length === 0) return none;
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
  const impl = implFor(codec, `a chunk is compressed with ${codec}`);
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
