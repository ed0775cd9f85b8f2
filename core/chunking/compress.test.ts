import { createCipheriv } from 'node:crypto';
import * as zlib from 'node:zlib';
import { brotliCompressSync, constants, deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CcsError } from '../common/errors';
import { assertProperty } from '../test-support/fc';
import { assertCodecAvailable, availableCodecs, type Codec, CODEC_IDS, codecFromId, compressChunk, decompressChunk } from './compress';

const MiB = 1024 * 1024;

/** Feature detection exactly as a user's runtime would see it (Node >= 22.15, Electron >= 39). */
const zstdCompress = (zlib as unknown as { zstdCompressSync?: (data: Buffer, options?: object) => Buffer }).zstdCompressSync;
const HAS_ZSTD = typeof zstdCompress === 'function';
const CODECS = availableCodecs();
const PACKING = CODECS.filter((c): c is Exclude<Codec, 'none'> => c !== 'none');

function random(seed: number, length: number): Buffer {
  const key = Buffer.alloc(16, seed);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** JSON and Markdown like the files under ~/.claude, with enough variety not to be trivially repetitive. */
function text(length: number): Buffer {
  const words = ['session', 'project', 'the', 'claude', 'settings', 'permissions', 'allow', 'tool', 'model', 'hook'];
  const noise = random(9, length);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const w = (k: number) => words[noise[(i * 7 + k) % length]! % words.length]!;
    const line =
      i % 3 === 0
        ? `## ${w(0)} ${w(1)} ${i}\n\n- ${w(2)} ${w(3)} \`${w(4)}\`\n`
        : `{"id":"${noise.readUInt32LE((i * 4) % (length - 4)).toString(16)}","${w(5)}":"${w(6)} ${w(7)}","n":${i}}\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, length);
}

function caught(fn: () => unknown): CcsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CcsError) return e;
    throw e;
  }
  throw new Error('expected a CcsError');
}

describe('compressChunk / decompressChunk', () => {
  it.each(PACKING)('round-trips text with %s and compresses it', (codec) => {
    for (const size of [64 * 1024, 256 * 1024, MiB]) {
      const raw = text(size);
      const packed = compressChunk(raw, codec);
      expect(packed.codec).toBe(codec);
      expect(packed.data.length).toBeLessThan(raw.length / 2);
      expect(decompressChunk(packed.codec, packed.data, raw.length).equals(raw)).toBe(true);
    }
  });

  it('brotli compresses text better than deflate (why a vault would choose it)', () => {
    const raw = text(256 * 1024);
    expect(compressChunk(raw, 'brotli').data.length).toBeLessThan(compressChunk(raw, 'deflate').data.length);
  });

  it('round-trips with codec none', () => {
    const raw = text(10_000);
    const packed = compressChunk(raw, 'none');
    expect(packed).toEqual({ codec: 'none', data: raw });
    expect(decompressChunk('none', packed.data, raw.length)).toBe(raw);
  });

  it.each([
    ['random (sampled)', 256 * 1024],
    ['random (small, no sample)', 10_000],
    ['tiny', 12],
  ])('stores %s data uncompressed', (_, size) => {
    const raw = size < 100 ? Buffer.from('abcdefghijkl') : random(1, size);
    for (const codec of PACKING) {
      const packed = compressChunk(raw, codec);
      expect(packed.codec).toBe('none');
      expect(packed.data).toBe(raw);
    }
  });

  it('stores an empty chunk as none with every codec', () => {
    for (const codec of CODECS) expect(compressChunk(Buffer.alloc(0), codec).codec).toBe('none');
  });

  it('round-trips arbitrary data', async () => {
    const words = ['{"a":', '1}', '\n', '  ', 'lorem ', 'ipsum ', '# ', '\u00e9', '"x"'];
    const arbitrary = fc.oneof(
      fc.uint8Array({ maxLength: 40_000 }).map((a) => Buffer.from(a)),
      fc.array(fc.constantFrom(...words), { maxLength: 8_000 }).map((a) => Buffer.from(a.join(''))),
    );
    await assertProperty(
      fc.property(arbitrary, fc.constantFrom(...CODECS), (raw, codec) => {
        const packed = compressChunk(raw, codec);
        expect(decompressChunk(packed.codec, packed.data, raw.length).equals(raw)).toBe(true);
      }),
      100,
    );
  });

  it('rejects a wrong raw length', () => {
    const raw = text(100_000);
    const { data } = compressChunk(raw, 'deflate');
    const shorter = caught(() => decompressChunk('deflate', data, raw.length - 1));
    expect(shorter.code).toBe('OBJECT_CORRUPT');
    expect(shorter.message).toBe(`deflate chunk inflates beyond its recorded length of ${raw.length - 1} bytes`);
    const longer = caught(() => decompressChunk('deflate', data, raw.length + 1));
    expect(longer.code).toBe('OBJECT_CORRUPT');
    expect(longer.message).toBe(`deflate chunk inflated to ${raw.length} bytes, expected ${raw.length + 1}`);
    expect(caught(() => decompressChunk('none', raw, raw.length + 1)).code).toBe('OBJECT_CORRUPT');
    expect(caught(() => decompressChunk('deflate', data, -1)).code).toBe('OBJECT_CORRUPT');
    expect(caught(() => decompressChunk('deflate', data, Number.NaN)).code).toBe('OBJECT_CORRUPT');
  });

  it('rejects corrupted data', () => {
    const raw = text(100_000);
    const { data } = compressChunk(raw, 'deflate');
    const truncated = data.subarray(0, data.length >> 1);
    const badHeader = Buffer.from(data);
    badHeader[0] = 0xff; // final block with the reserved block type 11
    for (const bad of [truncated, badHeader, random(2, 5000), Buffer.alloc(0)]) {
      const err = caught(() => decompressChunk('deflate', bad, raw.length));
      expect(err.code).toBe('OBJECT_CORRUPT');
    }
  });

  it.each(PACKING)('rejects truncated, garbage and empty %s data', (codec) => {
    const raw = text(100_000);
    const { data } = compressChunk(raw, codec);
    for (const bad of [data.subarray(0, data.length >> 1), random(2, 5000), Buffer.alloc(0)]) {
      const err = caught(() => decompressChunk(codec, bad, raw.length));
      expect(err.code).toBe('OBJECT_CORRUPT');
      expect(err.message).toMatch(new RegExp(`^${codec} chunk `));
    }
    const shorter = caught(() => decompressChunk(codec, data, raw.length - 1));
    expect(shorter.message).toBe(`${codec} chunk inflates beyond its recorded length of ${raw.length - 1} bytes`);
    const longer = caught(() => decompressChunk(codec, data, raw.length + 1));
    expect(longer.message).toBe(`${codec} chunk inflated to ${raw.length} bytes, expected ${raw.length + 1}`);
  });

  it('decoders never crash and never exceed the recorded length on arbitrary or damaged input', async () => {
    const samples = new Map(PACKING.map((c) => [c, compressChunk(text(20_000), c).data]));
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 4096 }).map((a) => ({ bytes: Buffer.from(a) })),
      // Damaged real streams get past the header checks, so they reach the decoders' inner loops.
      fc.record({ flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }), cut: fc.option(fc.nat()) }),
    );
    await assertProperty(
      fc.property(fc.constantFrom(...PACKING), input, fc.nat({ max: 64 * 1024 }), (codec, inp, rawLength) => {
        let bytes: Buffer;
        if ('bytes' in inp) bytes = inp.bytes;
        else {
          bytes = Buffer.from(samples.get(codec)!);
          for (const [at, x] of inp.flips) bytes[at % bytes.length]! ^= x;
          if (inp.cut !== null) bytes = bytes.subarray(0, inp.cut % bytes.length);
        }
        let out: Buffer;
        try {
          out = decompressChunk(codec, bytes, rawLength);
        } catch (e) {
          expect(e).toBeInstanceOf(CcsError);
          expect((e as CcsError).code).toBe('OBJECT_CORRUPT');
          return;
        }
        expect(out.length).toBe(rawLength);
      }),
      300,
    );
  });

  it('refuses a zip bomb without inflating it', () => {
    const zeros = Buffer.alloc(64 * MiB);
    const bomb = deflateRawSync(zeros, { level: 9 });
    const before = process.memoryUsage().arrayBuffers;
    const err = caught(() => decompressChunk('deflate', bomb, MiB));
    const grew = process.memoryUsage().arrayBuffers - before;
    // Kept alive until here so a GC cannot free it mid-call and hide a 64 MiB allocation.
    expect(zeros.length).toBe(64 * MiB);
    expect(bomb.length).toBeLessThan(MiB);
    expect(grew).toBeLessThan(8 * MiB);
    expect(err.code).toBe('OBJECT_CORRUPT');
    expect(err.message).toContain('inflates beyond its recorded length');
  });

  function refusesBomb(codec: Codec, pack: (zeros: Buffer) => Buffer): void {
    const zeros = Buffer.alloc(64 * MiB);
    const bomb = pack(zeros);
    const before = process.memoryUsage().arrayBuffers;
    const err = caught(() => decompressChunk(codec, bomb, MiB));
    const grew = process.memoryUsage().arrayBuffers - before;
    expect(zeros.length).toBe(64 * MiB);
    expect(bomb.length).toBeLessThan(MiB);
    expect(grew).toBeLessThan(8 * MiB);
    expect(err.code).toBe('OBJECT_CORRUPT');
    expect(err.message).toBe(`${codec} chunk inflates beyond its recorded length of ${MiB} bytes`);
  }

  it('refuses a brotli bomb without inflating it', () => {
    refusesBomb('brotli', (zeros) => brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }));
  });

  // Where the runtime lacks zstd, 'zstd availability' below asserts the CODEC_UNAVAILABLE path instead.
  it.runIf(HAS_ZSTD)('refuses a zstd bomb without inflating it', () => {
    refusesBomb('zstd', (zeros) => zstdCompress!(zeros));
  });
});

describe('zstd availability', () => {
  it('is detected by feature, and either round-trips or fails with a message naming zstd', () => {
    const raw = text(256 * 1024);
    if (HAS_ZSTD) {
      expect(CODECS).toContain('zstd');
      expect(() => assertCodecAvailable('zstd')).not.toThrow();
      const packed = compressChunk(raw, 'zstd');
      expect(packed.codec).toBe('zstd');
      expect(decompressChunk('zstd', packed.data, raw.length).equals(raw)).toBe(true);
      expect(decompressChunk(codecFromId(3), packed.data, raw.length).equals(raw)).toBe(true);
    } else {
      expect(CODECS).toEqual(['none', 'deflate', 'brotli']);
      const vault = caught(() => assertCodecAvailable('zstd'));
      expect(vault.code).toBe('CODEC_UNAVAILABLE');
      expect(vault.message).toBe(
        `this vault compresses with zstd, which this runtime (Node ${process.version}) cannot decode or encode; use Node ≥ 22.15 or the desktop app (Electron ≥ 39)`,
      );
      const encode = caught(() => compressChunk(raw, 'zstd'));
      expect(encode.code).toBe('CODEC_UNAVAILABLE');
      expect(encode.message).toBe(vault.message);
      // A chunk another device stored with zstd (id 3): a known codec this runtime lacks, not an unknown id.
      expect(codecFromId(3)).toBe('zstd');
      const decode = caught(() => decompressChunk(codecFromId(3), Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 10));
      expect(decode.code).toBe('CODEC_UNAVAILABLE');
      expect(decode.message).toMatch(/^a chunk is compressed with zstd, which this runtime \(Node v[\d.]+\) cannot decode or encode; use Node ≥ 22\.15/);
    }
  });
});

describe('codec ids', () => {
  it('maps every codec to its id and back', () => {
    for (const [codec, id] of Object.entries(CODEC_IDS)) expect(codecFromId(id)).toBe(codec);
    expect(CODEC_IDS).toEqual({ none: 0, deflate: 1, brotli: 2, zstd: 3 });
  });

  it.each([4, 255, -1, 0.5])('rejects unknown id %s', (id) => {
    const err = caught(() => codecFromId(id));
    expect(err.code).toBe('CODEC_UNAVAILABLE');
    expect(err.message).toBe(`chunk compressed with codec id ${id}, which this version cannot decode`);
  });

  it('rejects an unknown codec name', () => {
    const lz4 = 'lz4' as Codec;
    expect(caught(() => compressChunk(Buffer.from('x'), lz4)).code).toBe('CODEC_UNAVAILABLE');
    expect(caught(() => decompressChunk(lz4, Buffer.from('x'), 1)).code).toBe('CODEC_UNAVAILABLE');
    expect(caught(() => assertCodecAvailable(lz4)).message).toBe('codec lz4 is not known to this version; known codecs: none, deflate, brotli, zstd');
  });

  it('lists the codecs this runtime has, none, deflate and brotli always', () => {
    expect(CODECS.slice(0, 3)).toEqual(['none', 'deflate', 'brotli']);
    for (const c of CODECS) expect(() => assertCodecAvailable(c)).not.toThrow();
  });
});
