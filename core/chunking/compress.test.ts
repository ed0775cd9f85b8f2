import { createCipheriv } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CcsError } from '../common/errors';
import { assertProperty } from '../test-support/fc';
import { type Codec, CODEC_IDS, codecFromId, compressChunk, decompressChunk } from './compress';

const MiB = 1024 * 1024;

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
  it('round-trips text with deflate and compresses it', () => {
    const raw = text(256 * 1024);
    const packed = compressChunk(raw, 'deflate');
    expect(packed.codec).toBe('deflate');
    expect(packed.data.length).toBeLessThan(raw.length / 2);
    expect(decompressChunk(packed.codec, packed.data, raw.length).equals(raw)).toBe(true);
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
    const packed = compressChunk(raw, 'deflate');
    expect(packed.codec).toBe('none');
    expect(packed.data).toBe(raw);
  });

  it('round-trips arbitrary data', async () => {
    const words = ['{"a":', '1}', '\n', '  ', 'lorem ', 'ipsum ', '# ', '\u00e9', '"x"'];
    const arbitrary = fc.oneof(
      fc.uint8Array({ maxLength: 40_000 }).map((a) => Buffer.from(a)),
      fc.array(fc.constantFrom(...words), { maxLength: 8_000 }).map((a) => Buffer.from(a.join(''))),
    );
    await assertProperty(
      fc.property(arbitrary, fc.constantFrom<Codec>('none', 'deflate'), (raw, codec) => {
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
});

describe('codec ids', () => {
  it('maps every codec to its id and back', () => {
    for (const [codec, id] of Object.entries(CODEC_IDS)) expect(codecFromId(id)).toBe(codec);
    expect(CODEC_IDS).toEqual({ none: 0, deflate: 1 });
  });

  it.each([2, 3, 255, -1, 0.5])('rejects unknown id %s', (id) => {
    const err = caught(() => codecFromId(id));
    expect(err.code).toBe('CODEC_UNAVAILABLE');
    expect(err.message).toBe(`chunk compressed with codec id ${id}, which this version cannot decode`);
  });

  it('rejects an unknown codec name', () => {
    const zstd = 'zstd' as Codec;
    expect(caught(() => compressChunk(Buffer.from('x'), zstd)).code).toBe('CODEC_UNAVAILABLE');
    expect(caught(() => decompressChunk(zstd, Buffer.from('x'), 1)).code).toBe('CODEC_UNAVAILABLE');
  });
});
