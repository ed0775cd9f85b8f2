import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CcsError, type ErrorCode } from '../common/errors';
import { assertProperty } from '../test-support/fc';
import { randomKey } from './keys';
import {
  HEADER_LENGTH,
  SEGMENT_SIZE,
  TAG_LENGTH,
  cipherRangeFor,
  ciphertextLength,
  decryptObject,
  decryptRange,
  encryptObject,
  plaintextLength,
  readHeaderEpoch,
  type EpochKeyLookup,
} from './stream';

const SEG_CT = SEGMENT_SIZE + TAG_LENGTH;
const EPOCH = 7;
const key = randomKey();
const only7: EpochKeyLookup = (e) => (e === EPOCH ? key : undefined);
// Returns the key for any epoch, so a damaged epoch field reaches authentication instead of LOCKED.
const anyEpoch: EpochKeyLookup = () => key;

/** Deterministic bytes from a seed, so fast-check shrinks and replays (len, seed) instead of megabytes. */
function bytesFrom(seed: number, length: number): Buffer {
  const k = Buffer.alloc(16);
  k.writeInt32BE(seed | 0, 0);
  return createCipheriv('aes-128-ctr', k, Buffer.alloc(16)).update(Buffer.alloc(length));
}

function errorOf(fn: () => unknown): CcsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CcsError) return e;
    throw e;
  }
  throw new Error('expected a CcsError, but the call succeeded');
}

function expectCode(fn: () => unknown, code: ErrorCode): CcsError {
  const err = errorOf(fn);
  expect(err.code, err.message).toBe(code);
  return err;
}

/** Splits a ciphertext into its header and segments (using the documented layout). */
function segmentsOf(ct: Buffer): { header: Buffer; segments: Buffer[] } {
  const segments: Buffer[] = [];
  for (let pos = HEADER_LENGTH; pos < ct.length; pos += SEG_CT) segments.push(ct.subarray(pos, Math.min(pos + SEG_CT, ct.length)));
  return { header: ct.subarray(0, HEADER_LENGTH), segments };
}

const seedArb = fc.integer();
// Small sizes, sizes within two bytes of segment boundaries, and anything up to four segments.
const lengthArb = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -2, max: 2 })).map(([k, d]) => Math.max(0, k * SEGMENT_SIZE + d)),
  fc.integer({ min: 0, max: 4 * SEGMENT_SIZE }),
);
const multiSegmentLengthArb = fc.integer({ min: SEGMENT_SIZE + 1, max: 4 * SEGMENT_SIZE });
const objectIdArb = fc.string({ minLength: 1, maxLength: 40, unit: 'binary' });

describe('encryptObject / decryptObject', () => {
  it.each([0, 1, 65535, 65536, 65537, 3 * 65536, 1024 * 1024 + 123])('round-trips %i bytes', (n) => {
    const pt = randomBytes(n);
    const ct = encryptObject(pt, 'data/ab/cdef', EPOCH, key);
    expect(ct.length).toBe(ciphertextLength(n));
    expect(plaintextLength(ct.length)).toBe(n);
    expect(decryptObject(ct, 'data/ab/cdef', only7).equals(pt)).toBe(true);
  });

  it('follows the documented format: decrypts with an independent reading of the spec', () => {
    const pt = randomBytes(2 * SEGMENT_SIZE + 100);
    const id = 'data/ab/cdef';
    const ct = encryptObject(pt, id, EPOCH, key);
    const header = ct.subarray(0, HEADER_LENGTH);
    const info = Buffer.concat([Buffer.from('ccsync/v1/object\0', 'utf8'), Buffer.from(id, 'utf8')]);
    const objectKey = Buffer.from(hkdfSync('sha256', key, header.subarray(12, 28), info, 32));
    const { segments } = segmentsOf(ct);
    expect(segments.map((s) => s.length)).toEqual([SEG_CT, SEG_CT, 100 + TAG_LENGTH]);
    const parts = segments.map((seg, i) => {
      const nonce = Buffer.alloc(12);
      nonce.writeUInt32BE(i, 7);
      nonce[11] = i === segments.length - 1 ? 1 : 0;
      const index = Buffer.alloc(4);
      index.writeUInt32BE(i);
      const d = createDecipheriv('aes-256-gcm', objectKey, nonce, { authTagLength: TAG_LENGTH });
      d.setAAD(Buffer.concat([header, Buffer.from(id, 'utf8'), index]));
      d.setAuthTag(seg.subarray(seg.length - TAG_LENGTH));
      return Buffer.concat([d.update(seg.subarray(0, seg.length - TAG_LENGTH)), d.final()]);
    });
    expect(Buffer.concat(parts).equals(pt)).toBe(true);
  });

  it('writes the documented header and a fresh salt each time', () => {
    const a = encryptObject(Buffer.from('same'), 'x', 0x01020304, key);
    const b = encryptObject(Buffer.from('same'), 'x', 0x01020304, key);
    expect(a.subarray(0, 12).toString('hex')).toBe(Buffer.from('CCSO').toString('hex') + '01' + '01' + '0000' + '01020304');
    expect(a.subarray(12, 28).equals(b.subarray(12, 28))).toBe(false);
    expect(a.equals(b)).toBe(false);
    expect(readHeaderEpoch(a.subarray(0, HEADER_LENGTH))).toBe(0x01020304);
  });

  it('accepts a Uint8Array view into a larger buffer', () => {
    const backing = randomBytes(70000);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 100, 66000);
    const ct = encryptObject(view, 'v', EPOCH, key);
    const inner = new Uint8Array(Buffer.concat([Buffer.alloc(5), ct]).buffer).subarray(5, 5 + ct.length);
    expect(decryptObject(inner, 'v', only7).equals(Buffer.from(view))).toBe(true);
  });

  it('rejects an unknown version with FORMAT_UNSUPPORTED naming it', () => {
    const ct = encryptObject(Buffer.from('hi'), 'o', EPOCH, key);
    ct[4] = 2;
    expect(expectCode(() => decryptObject(ct, 'o', only7), 'FORMAT_UNSUPPORTED').message).toMatch(/version 2/);
  });

  it('rejects an unknown algorithm with FORMAT_UNSUPPORTED', () => {
    const ct = encryptObject(Buffer.from('hi'), 'o', EPOCH, key);
    ct[5] = 9;
    expect(expectCode(() => decryptObject(ct, 'o', only7), 'FORMAT_UNSUPPORTED').message).toMatch(/algorithm 9/);
  });

  it('rejects bad magic, a set reserved field and a short header as OBJECT_CORRUPT', () => {
    const ct = encryptObject(Buffer.from('hi'), 'o', EPOCH, key);
    const badMagic = Buffer.from(ct);
    badMagic[0] = 0x58;
    expectCode(() => decryptObject(badMagic, 'o', only7), 'OBJECT_CORRUPT');
    const reserved = Buffer.from(ct);
    reserved[7] = 1;
    expectCode(() => decryptObject(reserved, 'o', only7), 'OBJECT_CORRUPT');
    expectCode(() => decryptObject(ct.subarray(0, 10), 'o', only7), 'OBJECT_CORRUPT');
    expectCode(() => readHeaderEpoch(ct.subarray(0, 27)), 'OBJECT_CORRUPT');
  });

  it('reports LOCKED when the epoch key is not available', () => {
    const ct = encryptObject(Buffer.from('hi'), 'o', 12, key);
    expect(expectCode(() => decryptObject(ct, 'o', only7), 'LOCKED').message).toMatch(/no key for epoch 12/);
  });

  it('reports LOCKED, not plaintext, when the epoch field is damaged and that epoch is unknown', () => {
    const ct = encryptObject(Buffer.from('hi'), 'o', EPOCH, key);
    ct[11]! ^= 0x10;
    expectCode(() => decryptObject(ct, 'o', only7), 'LOCKED');
  });

  it('names the object and the segment that failed', () => {
    const ct = encryptObject(randomBytes(5 * SEGMENT_SIZE), 'data/ab/cd', EPOCH, key);
    ct[HEADER_LENGTH + 3 * SEG_CT + 10]! ^= 1;
    expect(expectCode(() => decryptObject(ct, 'data/ab/cd', only7), 'OBJECT_CORRUPT').message).toBe(
      'object data/ab/cd segment 3 failed authentication: tampered or corrupt',
    );
  });

  it('refuses wrong-length keys and out-of-range epochs as programming errors', () => {
    expectCode(() => encryptObject(Buffer.alloc(1), 'o', EPOCH, Buffer.alloc(16)), 'INTERNAL');
    expectCode(() => encryptObject(Buffer.alloc(1), 'o', 2 ** 32, key), 'INTERNAL');
    expectCode(() => encryptObject(Buffer.alloc(1), 'o', -1, key), 'INTERNAL');
  });
});

describe('lengths', () => {
  it('plaintextLength inverts ciphertextLength', () =>
    assertProperty(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (n) => plaintextLength(ciphertextLength(n)) === n), 1000));

  it.each([
    ['negative', -1],
    ['fractional', 100.5],
    ['shorter than header', 27],
    ['header only', HEADER_LENGTH],
    ['header plus a partial tag', HEADER_LENGTH + 15],
    ['a full segment plus an empty final segment', HEADER_LENGTH + SEG_CT + TAG_LENGTH],
    ['a full segment plus a partial tag', HEADER_LENGTH + SEG_CT + 5],
    ['more than 2^32 segments', HEADER_LENGTH + (2 ** 32 + 1) * SEG_CT],
  ])('rejects impossible ciphertext length: %s', (_name, n) => {
    expectCode(() => plaintextLength(n), 'OBJECT_CORRUPT');
  });

  it('rejects invalid plaintext lengths', () => {
    expectCode(() => ciphertextLength(-1), 'INTERNAL');
  });
});

describe('properties', () => {
  it('round-trips arbitrary data', () =>
    assertProperty(
      fc.property(lengthArb, seedArb, objectIdArb, (len, seed, id) => {
        const pt = bytesFrom(seed, len);
        return decryptObject(encryptObject(pt, id, EPOCH, key), id, only7).equals(pt);
      }),
      150,
    ));

  it('detects any single flipped bit', () =>
    assertProperty(
      fc.property(lengthArb, seedArb, fc.nat(), (len, seed, bitPick) => {
        const ct = encryptObject(bytesFrom(seed, len), 'o', EPOCH, key);
        const bit = bitPick % (ct.length * 8);
        ct[bit >> 3]! ^= 1 << (bit & 7);
        // Version and algorithm are read before authentication; everything else must fail it.
        const byte = bit >> 3;
        expectCode(() => decryptObject(ct, 'o', anyEpoch), byte === 4 || byte === 5 ? 'FORMAT_UNSUPPORTED' : 'OBJECT_CORRUPT');
      }),
      300,
    ));

  it('detects truncation at any length', () =>
    assertProperty(
      fc.property(lengthArb, seedArb, fc.nat(), (len, seed, cutPick) => {
        const ct = encryptObject(bytesFrom(seed, len), 'o', EPOCH, key);
        expectCode(() => decryptObject(ct.subarray(0, cutPick % ct.length), 'o', anyEpoch), 'OBJECT_CORRUPT');
      }),
      300,
    ));

  it('detects truncation exactly at a segment boundary', () => {
    const ct = encryptObject(randomBytes(3 * SEGMENT_SIZE + 5), 'o', EPOCH, key);
    for (const segments of [1, 2, 3]) {
      expectCode(() => decryptObject(ct.subarray(0, HEADER_LENGTH + segments * SEG_CT), 'o', anyEpoch), 'OBJECT_CORRUPT');
    }
  });

  it('detects appended bytes', () =>
    assertProperty(
      fc.property(lengthArb, seedArb, fc.integer({ min: 1, max: SEG_CT + 20 }), (len, seed, extra) => {
        const ct = encryptObject(bytesFrom(seed, len), 'o', EPOCH, key);
        expectCode(() => decryptObject(Buffer.concat([ct, bytesFrom(seed + 1, extra)]), 'o', anyEpoch), 'OBJECT_CORRUPT');
      }),
      200,
    ));

  it('detects two swapped segments', () =>
    assertProperty(
      fc.property(multiSegmentLengthArb, seedArb, fc.nat(), fc.nat(), (len, seed, iPick, jPick) => {
        const { header, segments } = segmentsOf(encryptObject(bytesFrom(seed, len), 'o', EPOCH, key));
        const i = iPick % segments.length;
        const j = (i + 1 + (jPick % (segments.length - 1))) % segments.length;
        const swapped = [...segments];
        [swapped[i], swapped[j]] = [segments[j]!, segments[i]!];
        expectCode(() => decryptObject(Buffer.concat([header, ...swapped]), 'o', anyEpoch), 'OBJECT_CORRUPT');
      }),
      150,
    ));

  it('fails under any other objectId', () =>
    assertProperty(
      fc.property(lengthArb, seedArb, objectIdArb, objectIdArb, (len, seed, id, other) => {
        fc.pre(!Buffer.from(id, 'utf8').equals(Buffer.from(other, 'utf8')));
        const ct = encryptObject(bytesFrom(seed, len), id, EPOCH, key);
        expectCode(() => decryptObject(ct, other, anyEpoch), 'OBJECT_CORRUPT');
      }),
      150,
    ));

  it('detects a segment spliced in from another object under the same key', () =>
    assertProperty(
      fc.property(lengthArb, seedArb, fc.boolean(), fc.nat(), (len, seed, sameId, pick) => {
        const a = encryptObject(bytesFrom(seed, len), 'a', EPOCH, key);
        const b = encryptObject(bytesFrom(seed + 1, len), sameId ? 'a' : 'b', EPOCH, key);
        const { header, segments } = segmentsOf(a);
        const i = pick % segments.length;
        const spliced = [...segments];
        spliced[i] = segmentsOf(b).segments[i]!;
        expectCode(() => decryptObject(Buffer.concat([header, ...spliced]), 'a', anyEpoch), 'OBJECT_CORRUPT');
      }),
      150,
    ));
});

describe('ranges', () => {
  function rangeOf(ct: Buffer, off: number, len: number): Buffer {
    const r = cipherRangeFor(off, len, ct.length);
    const slice = Buffer.from(ct.subarray(r.cipherOffset, r.cipherOffset + r.cipherLength));
    return decryptRange(ct.subarray(0, HEADER_LENGTH), slice, r.firstSegment, ct.length, 'pack/1', only7, r.skip, len);
  }

  it('decryptRange equals the matching slice of the plaintext', () =>
    assertProperty(
      fc.property(lengthArb, seedArb, fc.nat(), fc.nat(), (len, seed, offPick, lenPick) => {
        const pt = bytesFrom(seed, len);
        const ct = encryptObject(pt, 'pack/1', EPOCH, key);
        const off = offPick % (len + 1);
        const rl = lenPick % (len - off + 1);
        return rangeOf(ct, off, rl).equals(pt.subarray(off, off + rl));
      }),
      300,
    ));

  it('handles ranges at the edges', () => {
    const pt = randomBytes(2 * SEGMENT_SIZE);
    const ct = encryptObject(pt, 'pack/1', EPOCH, key);
    expect(rangeOf(ct, 0, pt.length).equals(pt)).toBe(true);
    expect(rangeOf(ct, pt.length, 0).length).toBe(0);
    expect(rangeOf(ct, SEGMENT_SIZE - 1, 2).equals(pt.subarray(SEGMENT_SIZE - 1, SEGMENT_SIZE + 1))).toBe(true);
    const r = cipherRangeFor(SEGMENT_SIZE + 10, 20, ct.length);
    expect(r).toEqual({ cipherOffset: HEADER_LENGTH + SEG_CT, cipherLength: SEG_CT, firstSegment: 1, skip: 10 });
    const empty = encryptObject(Buffer.alloc(0), 'pack/1', EPOCH, key);
    expect(rangeOf(empty, 0, 0).length).toBe(0);
  });

  it('rejects ranges beyond the object, short slices and impossible object lengths', () => {
    const ct = encryptObject(randomBytes(100_000), 'pack/1', EPOCH, key);
    expectCode(() => cipherRangeFor(99_990, 11, ct.length), 'OBJECT_CORRUPT');
    expectCode(() => cipherRangeFor(0, 1, HEADER_LENGTH + 3), 'OBJECT_CORRUPT');
    const r = cipherRangeFor(70_000, 100, ct.length);
    const short = ct.subarray(r.cipherOffset, r.cipherOffset + r.cipherLength - 1);
    expectCode(() => decryptRange(ct.subarray(0, HEADER_LENGTH), short, r.firstSegment, ct.length, 'pack/1', only7, r.skip, 100), 'OBJECT_CORRUPT');
    expectCode(() => decryptRange(ct.subarray(0, HEADER_LENGTH), short, 5, ct.length, 'pack/1', only7, 0, 1), 'OBJECT_CORRUPT');
  });

  it('fails authentication when told the wrong object length', () => {
    // Claiming the object ends after segment 0 makes segment 0 "final", which its nonce denies.
    const ct = encryptObject(randomBytes(2 * SEGMENT_SIZE), 'pack/1', EPOCH, key);
    const slice = ct.subarray(HEADER_LENGTH, HEADER_LENGTH + SEG_CT);
    expectCode(() => decryptRange(ct.subarray(0, HEADER_LENGTH), slice, 0, HEADER_LENGTH + SEG_CT, 'pack/1', only7, 0, 10), 'OBJECT_CORRUPT');
  });

  it('decryptRange of a tampered segment fails', () =>
    assertProperty(
      fc.property(lengthArb, seedArb, fc.nat(), fc.nat(), fc.nat(), (len, seed, offPick, lenPick, bitPick) => {
        const ct = encryptObject(bytesFrom(seed, len), 'pack/1', EPOCH, key);
        const off = offPick % (len + 1);
        const rl = lenPick % (len - off + 1);
        const r = cipherRangeFor(off, rl, ct.length);
        const slice = Buffer.from(ct.subarray(r.cipherOffset, r.cipherOffset + r.cipherLength));
        const bit = bitPick % (slice.length * 8);
        slice[bit >> 3]! ^= 1 << (bit & 7);
        expectCode(
          () => decryptRange(ct.subarray(0, HEADER_LENGTH), slice, r.firstSegment, ct.length, 'pack/1', only7, r.skip, rl),
          'OBJECT_CORRUPT',
        );
      }),
      200,
    ));

  it('decryptRange reports LOCKED and FORMAT_UNSUPPORTED like decryptObject', () => {
    const ct = encryptObject(randomBytes(1000), 'pack/1', 99, key);
    const r = cipherRangeFor(0, 10, ct.length);
    const slice = ct.subarray(r.cipherOffset, r.cipherOffset + r.cipherLength);
    expectCode(() => decryptRange(ct.subarray(0, HEADER_LENGTH), slice, 0, ct.length, 'pack/1', only7, 0, 10), 'LOCKED');
    const header = Buffer.from(ct.subarray(0, HEADER_LENGTH));
    header[4] = 3;
    expectCode(() => decryptRange(header, slice, 0, ct.length, 'pack/1', anyEpoch, 0, 10), 'FORMAT_UNSUPPORTED');
  });
});
