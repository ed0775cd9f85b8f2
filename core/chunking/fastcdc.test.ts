import { createCipheriv, createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CcsError } from '../common/errors';
import { assertProperty } from '../test-support/fc';
import { type CdcParams, Chunker, DEFAULT_CDC, chunkBuffer, chunkFile, validateCdcParams } from './fastcdc';
import { gearTable } from './gear';

const MiB = 1024 * 1024;
const SMALL: CdcParams = { minSize: 1024, avgSize: 4096, maxSize: 16384 };
const GEAR = gearTable(Buffer.alloc(32, 42));

/** Deterministic pseudo-random bytes (AES-CTR keystream), so failures reproduce. */
function prng(seed: number, length: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeInt32LE(seed | 0);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

const lengths = (chunks: Buffer[]) => chunks.map((c) => c.length);
const digest = (c: Buffer) => createHash('sha256').update(c).digest('hex');
// toEqual walks Buffers byte by byte, which takes seconds on megabytes.
const digests = (chunks: Buffer[]) => chunks.map(digest);

function pushAll(parts: Uint8Array[], params = SMALL, gear = GEAR): Buffer[] {
  const chunker = new Chunker(params, gear);
  const out = parts.flatMap((p) => chunker.push(p));
  return [...out, ...chunker.finish()];
}

// Random data, or a short repeating pattern (which never or always matches the mask, exercising max cuts).
const input = fc
  .record({ seed: fc.integer(), length: fc.integer({ min: 0, max: 200_000 }), period: fc.option(fc.integer({ min: 1, max: 64 })) })
  .map(({ seed, length, period }) => {
    if (period === null) return prng(seed, length);
    const unit = prng(seed, period);
    return Buffer.from(Uint8Array.from({ length }, (_, i) => unit[i % period]!));
  });

describe('Chunker', () => {
  it('chunks concatenate to the input and respect min/max', async () => {
    await assertProperty(
      fc.property(input, (data) => {
        const chunks = chunkBuffer(data, SMALL, GEAR);
        expect(Buffer.concat(chunks).equals(data)).toBe(true);
        chunks.slice(0, -1).forEach((c) => {
          expect(c.length).toBeGreaterThanOrEqual(SMALL.minSize);
          expect(c.length).toBeLessThanOrEqual(SMALL.maxSize);
        });
        if (chunks.length > 0) expect(chunks.at(-1)!.length).toBeGreaterThan(0);
        expect(chunks.at(-1)?.length ?? 0).toBeLessThanOrEqual(SMALL.maxSize);
      }),
      50,
    );
  });

  it('finds the same boundaries however the input is split into pushes', async () => {
    await assertProperty(
      fc.property(input, fc.array(fc.nat(), { maxLength: 40 }), (data, cuts) => {
        const points = [0, ...cuts.map((c) => c % (data.length + 1)).sort((a, b) => a - b), data.length];
        const parts = points.slice(1).map((end, i) => data.subarray(points[i], end)); // includes empty pushes
        const streamed = pushAll(parts);
        const whole = chunkBuffer(data, SMALL, GEAR);
        expect(lengths(streamed)).toEqual(lengths(whole));
        expect(streamed.every((c, i) => c.equals(whole[i]!))).toBe(true);
      }),
      100,
    );
  });

  it('handles byte-by-byte pushes', () => {
    const data = prng(5, 60_000);
    const parts = Array.from({ length: data.length }, (_, i) => data.subarray(i, i + 1));
    expect(lengths(pushAll(parts))).toEqual(lengths(chunkBuffer(data, SMALL, GEAR)));
  });

  it('is deterministic for a gear table and differs for another seed', () => {
    const data = prng(1, 4 * MiB);
    const a = lengths(chunkBuffer(data, DEFAULT_CDC, GEAR));
    expect(lengths(chunkBuffer(data, DEFAULT_CDC, gearTable(Buffer.alloc(32, 42))))).toEqual(a);
    expect(lengths(chunkBuffer(data, DEFAULT_CDC, gearTable(Buffer.alloc(32, 43))))).not.toEqual(a);
  });

  // Boundaries are part of the vault format: a change would silently break dedup against old data.
  it('keeps its boundaries stable across versions (known answer)', () => {
    expect(lengths(chunkBuffer(prng(7, 40_000), SMALL, gearTable(Buffer.alloc(32, 0))))).toEqual(KNOWN_LENGTHS);
  });

  it.each([
    ['default', DEFAULT_CDC, 8 * MiB],
    ['small', SMALL, 1 * MiB],
  ])('averages within a factor 2 of avgSize on random data (%s)', (_, params, size) => {
    const chunks = chunkBuffer(prng(2, size), params, GEAR);
    const mean = size / chunks.length;
    expect(mean).toBeGreaterThan(params.avgSize / 2);
    expect(mean).toBeLessThan(params.avgSize * 2);
  });

  it.each([
    ['changing', (d: Buffer, at: number) => Buffer.concat([d.subarray(0, at), Buffer.from([d[at]! ^ 0xff]), d.subarray(at + 1)])],
    ['inserting', (d: Buffer, at: number) => Buffer.concat([d.subarray(0, at), Buffer.from([0x55]), d.subarray(at)])],
    ['deleting', (d: Buffer, at: number) => Buffer.concat([d.subarray(0, at), d.subarray(at + 1)])],
  ])('%s one byte in the middle of 16 MiB changes at most 3 chunks', (_, edit) => {
    const data = prng(3, 16 * MiB);
    const before = new Set(chunkBuffer(data, DEFAULT_CDC, GEAR).map(digest));
    const after = chunkBuffer(edit(data, 8 * MiB + 12345), DEFAULT_CDC, GEAR).map(digest);
    expect(after.filter((d) => !before.has(d)).length).toBeLessThanOrEqual(3);
  });

  it('cuts at maxSize when the hash never matches, and right after minSize when it always does', () => {
    const data = prng(4, 3.5 * SMALL.maxSize);
    const never = new Uint32Array(256).fill(0x80000000); // the top bit stays set forever
    expect(lengths(chunkBuffer(data, SMALL, never))).toEqual([16384, 16384, 16384, 8192]);
    const always = new Uint32Array(256); // the hash stays 0
    expect(chunkBuffer(data, SMALL, always)[0]!.length).toBe(SMALL.minSize + 1);
  });

  it('handles empty and short inputs', () => {
    expect(chunkBuffer(Buffer.alloc(0), SMALL, GEAR)).toEqual([]);
    expect(new Chunker(SMALL, GEAR).finish()).toEqual([]);
    const short = prng(6, 1000);
    expect(digests(chunkBuffer(short, SMALL, GEAR))).toEqual([digest(short)]);
  });

  it('returns chunks that do not alias the pushed buffer, and resets after finish', () => {
    const data = prng(8, 100_000);
    const expected = chunkBuffer(data, SMALL, GEAR);
    const chunker = new Chunker(SMALL, GEAR);
    const scratch = Buffer.from(data);
    const got = [...chunker.push(scratch), ...chunker.finish()];
    scratch.fill(0);
    expect(digests(got)).toEqual(digests(expected));
    expect(digests([...chunker.push(data), ...chunker.finish()])).toEqual(digests(expected));
  });

  it('rejects bad params and gear tables', () => {
    expect(() => new Chunker({ ...SMALL, avgSize: 5000 }, GEAR)).toThrow('must be a power of two');
    expect(() => new Chunker(SMALL, new Uint32Array(255))).toThrow('gear table must have 256 entries');
  });
});

describe('chunkFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ccs-cdc-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function collect(gen: AsyncGenerator<Buffer>): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for await (const c of gen) out.push(c);
    return out;
  }

  it('equals chunkBuffer on a real file', async () => {
    const data = prng(9, 5 * MiB + 777);
    const path = join(dir, 'big.bin');
    await writeFile(path, data);
    const expected = chunkBuffer(data, DEFAULT_CDC, GEAR);
    expect(digests(await collect(chunkFile(path, DEFAULT_CDC, GEAR)))).toEqual(digests(expected));
    expect(lengths(await collect(chunkFile(path, DEFAULT_CDC, GEAR, 100_003)))).toEqual(lengths(expected));
  });

  it('equals chunkBuffer with tiny reads, and yields nothing for an empty file', async () => {
    const data = prng(10, 300_000);
    const path = join(dir, 'small.bin');
    await writeFile(path, data);
    expect(digests(await collect(chunkFile(path, SMALL, GEAR, 777)))).toEqual(digests(chunkBuffer(data, SMALL, GEAR)));
    await writeFile(join(dir, 'empty'), '');
    expect(await collect(chunkFile(join(dir, 'empty'), SMALL, GEAR))).toEqual([]);
  });

  it('fails on a missing file and a bad read size', async () => {
    await expect(collect(chunkFile(join(dir, 'missing'), SMALL, GEAR))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(collect(chunkFile(join(dir, 'small.bin'), SMALL, GEAR, 0))).rejects.toBeInstanceOf(CcsError);
  });
});

describe('validateCdcParams', () => {
  it('accepts valid params and returns only the known fields', () => {
    expect(validateCdcParams({ ...DEFAULT_CDC, extra: 1 })).toEqual(DEFAULT_CDC);
    expect(validateCdcParams({ minSize: 1024, avgSize: 2048, maxSize: 16 * MiB })).toBeTruthy();
  });

  it.each<[unknown, string]>([
    [null, 'CDC params must be an object'],
    [[1, 2, 3], 'CDC params must be an object'],
    ['64k', 'CDC params must be an object'],
    [{ ...DEFAULT_CDC, minSize: '65536' }, 'CDC minSize must be an integer, got "65536"'],
    [{ minSize: 65536, maxSize: MiB }, 'CDC avgSize must be an integer, got undefined'],
    [{ ...DEFAULT_CDC, maxSize: 1.5 * MiB + 0.5 }, 'CDC maxSize must be an integer'],
    [{ ...DEFAULT_CDC, avgSize: Number.NaN }, 'CDC avgSize must be an integer'],
    [{ ...DEFAULT_CDC, maxSize: Number.POSITIVE_INFINITY }, 'CDC maxSize must be an integer'],
    [{ ...DEFAULT_CDC, minSize: 512 }, 'CDC minSize 512 is below the 1 KiB minimum'],
    [{ ...DEFAULT_CDC, maxSize: 32 * MiB }, 'CDC maxSize 33554432 exceeds the 16 MiB maximum'],
    [{ minSize: 4096, avgSize: 4096, maxSize: 8192 }, 'CDC minSize 4096 must be smaller than avgSize 4096'],
    [{ minSize: 1024, avgSize: 8192, maxSize: 8192 }, 'CDC avgSize 8192 must be smaller than maxSize 8192'],
    [{ minSize: 1024, avgSize: 3000, maxSize: 8192 }, 'CDC avgSize 3000 must be a power of two'],
  ])('rejects %j', (params, message) => {
    let err: unknown;
    try {
      validateCdcParams(params);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CcsError);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((err as Error).message).toContain(message);
  });
});

// Cross-checked with an independent, non-streaming Python implementation of the same algorithm.
const KNOWN_LENGTHS = [5755, 4355, 4907, 4837, 4119, 4126, 6140, 5761];
