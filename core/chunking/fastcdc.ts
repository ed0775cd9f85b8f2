import { open } from 'node:fs/promises';
import { CcsError } from '../common/errors';

/**
 * FastCDC (Xia et al., USENIX ATC 2016): gear rolling hash, no hashing of the first minSize bytes
 * of a chunk, and normalized chunking level 2 (a stricter mask before avgSize, a looser one after),
 * which narrows the chunk-size spread around avgSize.
 */
export interface CdcParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

export const DEFAULT_CDC: CdcParams = { minSize: 64 * 1024, avgSize: 256 * 1024, maxSize: 1024 * 1024 };

const LOWEST = 1024;
const HIGHEST = 16 * 1024 * 1024;
const DEFAULT_READ = 1024 * 1024;

function invalid(message: string): CcsError {
  return new CcsError('CONFIG_INVALID', message);
}

function sizeField(o: Record<string, unknown>, key: keyof CdcParams): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw invalid(`CDC ${key} must be an integer, got ${JSON.stringify(v) ?? String(v)}`);
  }
  return v;
}

/** The params come from the vault manifest, so they are checked like any untrusted input. */
export function validateCdcParams(p: unknown): CdcParams {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalid('CDC params must be an object');
  const o = p as Record<string, unknown>;
  const minSize = sizeField(o, 'minSize');
  const avgSize = sizeField(o, 'avgSize');
  const maxSize = sizeField(o, 'maxSize');
  if (minSize < LOWEST) throw invalid(`CDC minSize ${minSize} is below the 1 KiB minimum`);
  if (maxSize > HIGHEST) throw invalid(`CDC maxSize ${maxSize} exceeds the 16 MiB maximum`);
  if (minSize >= avgSize) throw invalid(`CDC minSize ${minSize} must be smaller than avgSize ${avgSize}`);
  if (avgSize >= maxSize) throw invalid(`CDC avgSize ${avgSize} must be smaller than maxSize ${maxSize}`);
  if ((avgSize & (avgSize - 1)) !== 0) throw invalid(`CDC avgSize ${avgSize} must be a power of two`);
  return { minSize, avgSize, maxSize };
}

/**
 * Bit k of a shift-left gear hash depends only on the last k+1 bytes, so the mask takes the top n
 * bits, whose windows (33 - n to 32 bytes) are the widest a 32-bit hash has. FastCDC spreads its
 * bits over a 64-bit word; here spreading could only move bits lower and shrink their windows.
 */
function topBits(n: number): number {
  return (-1 << (32 - n)) | 0;
}

/** Streaming chunker: feed buffers of any size; chunk boundaries depend only on content, never on how the input was split. */
export class Chunker {
  readonly #min: number;
  readonly #avg: number;
  readonly #max: number;
  readonly #maskS: number;
  readonly #maskL: number;
  // Int32 entries keep the hot loop in int32 arithmetic whatever the JIT does with uint32 loads.
  readonly #gear: Int32Array;
  // Bytes of the unfinished chunk from earlier pushes; copied because callers may reuse their buffers.
  #pending: Buffer | null = null;
  #pendingLen = 0;
  #hash = 0;

  constructor(params: CdcParams, gear: Uint32Array) {
    const p = validateCdcParams(params);
    if (gear.length !== 256) throw new CcsError('INTERNAL', `gear table must have 256 entries, got ${gear.length}`);
    this.#min = p.minSize;
    this.#avg = p.avgSize;
    this.#max = p.maxSize;
    const bits = 31 - Math.clz32(p.avgSize);
    this.#maskS = topBits(bits + 2);
    this.#maskL = topBits(bits - 2);
    this.#gear = new Int32Array(gear);
  }

  /**
   * Returns the chunks completed by this data. Every chunk is a fresh copy, so the caller may reuse
   * `data` at once and a kept chunk never pins a large read buffer; the copy costs under 10% of the
   * scan (bench/chunking.mjs), too little to justify views with a "do not reuse" contract.
   */
  push(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    const gear = this.#gear;
    const maskS = this.#maskS;
    const maskL = this.#maskL;
    const min = this.#min;
    const avg = this.#avg;
    const max = this.#max;
    const n = data.length;
    let h = this.#hash;
    let len = this.#pendingLen; // bytes of the current chunk that precede data[start]
    let start = 0;
    let i = 0;
    while (i < n) {
      const cl = len + i - start;
      if (cl < min) {
        i += Math.min(min - cl, n - i);
        continue;
      }
      let cut = -1;
      if (cl < avg) {
        const lim = Math.min(n, i + avg - cl);
        while (i < lim) {
          h = ((h << 1) + gear[data[i++]!]!) | 0;
          if ((h & maskS) === 0) {
            cut = i;
            break;
          }
        }
      } else {
        const lim = Math.min(n, i + max - cl);
        while (i < lim) {
          h = ((h << 1) + gear[data[i++]!]!) | 0;
          if ((h & maskL) === 0) {
            cut = i;
            break;
          }
        }
        if (cut < 0 && len + i - start === max) cut = i;
      }
      if (cut < 0) continue;
      out.push(this.#take(data, start, cut, len));
      start = cut;
      len = 0;
      h = 0;
    }
    if (start < n) {
      this.#pending ??= Buffer.allocUnsafe(max);
      this.#pending.set(data.subarray(start, n), len);
      len += n - start;
    }
    this.#pendingLen = len;
    this.#hash = h;
    return out;
  }

  /** Returns the final partial chunk, if any, and resets the chunker for a new stream. */
  finish(): Buffer[] {
    const len = this.#pendingLen;
    this.#pendingLen = 0;
    this.#hash = 0;
    if (len === 0 || this.#pending === null) return [];
    return [Buffer.from(this.#pending.subarray(0, len))];
  }

  #take(data: Uint8Array, start: number, end: number, pendingLen: number): Buffer {
    const chunk = Buffer.allocUnsafe(pendingLen + end - start);
    if (pendingLen > 0 && this.#pending !== null) chunk.set(this.#pending.subarray(0, pendingLen));
    chunk.set(data.subarray(start, end), pendingLen);
    return chunk;
  }
}

export function chunkBuffer(data: Uint8Array, params: CdcParams, gear: Uint32Array): Buffer[] {
  const chunker = new Chunker(params, gear);
  const chunks = chunker.push(data);
  for (const c of chunker.finish()) chunks.push(c);
  return chunks;
}

/**
 * Streams a file through a Chunker. Memory stays near readSize + 2 * maxSize: one read buffer
 * (reused, since the chunker copies), the unfinished chunk, and the chunks of one read.
 */
export async function* chunkFile(
  path: string,
  params: CdcParams,
  gear: Uint32Array,
  readSize: number = Math.max(DEFAULT_READ, params.maxSize),
): AsyncGenerator<Buffer> {
  if (!Number.isSafeInteger(readSize) || readSize < 1) {
    throw new CcsError('INTERNAL', `chunkFile readSize must be a positive integer, got ${readSize}`);
  }
  const chunker = new Chunker(params, gear);
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(readSize);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, readSize, null);
      if (bytesRead === 0) break;
      yield* chunker.push(buf.subarray(0, bytesRead));
    }
    yield* chunker.finish();
  } finally {
    await fh.close();
  }
}
