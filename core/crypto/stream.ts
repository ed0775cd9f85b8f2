/**
 * Object encryption, format v1: the STREAM construction (Hoang–Reyhanitabar–Rogaway–Vizár 2015) as
 * age uses it, with AES-256-GCM.
 *
 * Layout of an encrypted object
 *
 *   header, 28 bytes
 *     offset  size  field
 *          0     4  magic       ASCII "CCSO"
 *          4     1  version     u8 = 1
 *          5     1  algorithm   u8 = 1: AES-256-GCM STREAM, 64 KiB segments, HKDF-SHA256 per-object key
 *          6     2  reserved    u16 = 0
 *          8     4  epoch       u32 big-endian: which epoch key encrypted the object
 *         12    16  salt        random, fresh for every encryption
 *   then the segments, in order: segment i is AES-256-GCM(plaintext_i) || 16-byte tag
 *
 *   object key   = HKDF-SHA256(ikm = epoch key, salt = header salt,
 *                              info = "ccsync/v1/object" || 0x00 || utf8(objectId)), 32 bytes
 *   plaintext_i  = bytes [i * 65536, (i + 1) * 65536) of the plaintext; every segment is full
 *                  except possibly the last; an empty plaintext is one empty final segment
 *   nonce_i      = i as 11-byte big-endian || final flag (0x01 on the last segment, else 0x00)
 *   aad_i        = header (28 bytes) || utf8(objectId) || i as u32 big-endian
 *
 *   total length = 28 + plaintext length + 16 * max(1, ceil(plaintext length / 65536))
 *
 * Why each piece:
 * - The fresh salt makes every encryption use a new object key, so counter nonces never repeat
 *   under one key, even when the same objectId is written again.
 * - The index in the nonce detects reordering; the final flag detects truncation at a segment
 *   boundary and appended segments; the header in the AAD binds epoch, salt and version; the
 *   objectId in both key and AAD makes an object (or a segment spliced from one) fail to decrypt
 *   under any other name.
 * - Segments let a reader decrypt a byte range (one chunk inside a pack) without fetching the
 *   whole object.
 *
 * Version and algorithm are read before anything is authenticated (they say how to authenticate),
 * so damage there reports FORMAT_UNSUPPORTED; every other failure is OBJECT_CORRUPT, or LOCKED when
 * the epoch's key is not loaded. No partial plaintext is ever returned.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomFillSync } from 'node:crypto';
import { CcsError } from '../common/errors';
import { assertKey, KEY_LENGTH } from './keys';

export const HEADER_LENGTH = 28;
export const SEGMENT_SIZE = 65536;
export const TAG_LENGTH = 16;

export type EpochKeyLookup = (epoch: number) => Buffer | undefined;

const MAGIC = Buffer.from('CCSO', 'ascii');
const FORMAT_VERSION = 1;
const ALG_AES256GCM_STREAM = 1;
const EPOCH_OFFSET = 8;
const SALT_OFFSET = 12;
const NONCE_LENGTH = 12;
const SEGMENT_CIPHER_SIZE = SEGMENT_SIZE + TAG_LENGTH;
const MAX_SEGMENTS = 2 ** 32; // the AAD carries the index as u32
const OBJECT_INFO_PREFIX = 'ccsync/v1/object\0';
const HKDF_INFO_MAX_BYTES = 1024; // Node's limit for hkdf info

interface Layout {
  plainLength: number;
  segments: number;
  lastPlain: number; // plaintext bytes in the final segment
}

function layoutForPlain(plainLength: number): Layout {
  const segments = plainLength === 0 ? 1 : Math.ceil(plainLength / SEGMENT_SIZE);
  return { plainLength, segments, lastPlain: plainLength - (segments - 1) * SEGMENT_SIZE };
}

/** Null for sizes no encryption can produce (including an empty final segment after full ones). */
function layoutForCipher(cipherLength: number): Layout | null {
  if (!Number.isSafeInteger(cipherLength) || cipherLength < HEADER_LENGTH + TAG_LENGTH) return null;
  const body = cipherLength - HEADER_LENGTH;
  const full = Math.floor(body / SEGMENT_CIPHER_SIZE);
  const rest = body - full * SEGMENT_CIPHER_SIZE;
  if (rest > 0 && (rest < TAG_LENGTH || (rest === TAG_LENGTH && full > 0))) return null;
  const layout = layoutForPlain(full * SEGMENT_SIZE + (rest > 0 ? rest - TAG_LENGTH : 0));
  return layout.segments <= MAX_SEGMENTS ? layout : null;
}

function segmentCipherLength(layout: Layout, i: number): number {
  return (i === layout.segments - 1 ? layout.lastPlain : SEGMENT_SIZE) + TAG_LENGTH;
}

function corrupt(objectId: string, problem: string): CcsError {
  return new CcsError('OBJECT_CORRUPT', `object ${objectId} ${problem}`);
}

function requireLayout(cipherLength: number, objectId: string): Layout {
  const layout = layoutForCipher(cipherLength);
  if (layout === null) throw corrupt(objectId, `has impossible length ${cipherLength}: truncated or extended`);
  return layout;
}

export function ciphertextLength(plaintextLength: number): number {
  if (!Number.isSafeInteger(plaintextLength) || plaintextLength < 0) {
    throw new CcsError('INTERNAL', `ciphertextLength: invalid plaintext length ${plaintextLength}`);
  }
  return HEADER_LENGTH + plaintextLength + layoutForPlain(plaintextLength).segments * TAG_LENGTH;
}

export function plaintextLength(ciphertextLength: number): number {
  const layout = layoutForCipher(ciphertextLength);
  if (layout === null) throw new CcsError('OBJECT_CORRUPT', `ciphertext length ${ciphertextLength} is impossible for format v1`);
  return layout.plainLength;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface Header {
  bytes: Buffer; // exactly HEADER_LENGTH, a view into the caller's data
  epoch: number;
  salt: Buffer;
}

function parseHeader(data: Uint8Array, objectId: string): Header {
  const buf = asBuffer(data);
  if (buf.length < HEADER_LENGTH) throw corrupt(objectId, `is ${buf.length} bytes, shorter than the ${HEADER_LENGTH}-byte header`);
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt(objectId, 'does not start with "CCSO": not an encrypted object');
  const version = buf[4];
  if (version !== FORMAT_VERSION) {
    throw new CcsError('FORMAT_UNSUPPORTED', `object ${objectId} uses format version ${version}; this build reads version ${FORMAT_VERSION} (written by a newer app?)`);
  }
  const alg = buf[5];
  if (alg !== ALG_AES256GCM_STREAM) {
    throw new CcsError('FORMAT_UNSUPPORTED', `object ${objectId} uses algorithm ${alg}, unknown in format version ${FORMAT_VERSION}`);
  }
  // A future feature would bump the version, so a set reserved field in a v1 header is damage.
  if (buf.readUInt16BE(6) !== 0) throw corrupt(objectId, 'has a non-zero reserved header field');
  return { bytes: buf.subarray(0, HEADER_LENGTH), epoch: buf.readUInt32BE(EPOCH_OFFSET), salt: buf.subarray(SALT_OFFSET, HEADER_LENGTH) };
}

export function readHeaderEpoch(header: Uint8Array): number {
  return parseHeader(header, 'header').epoch;
}

function checkObjectId(objectId: string): Buffer {
  const id = Buffer.from(objectId, 'utf8');
  if (id.length + OBJECT_INFO_PREFIX.length > HKDF_INFO_MAX_BYTES) {
    throw new CcsError('INTERNAL', `objectId is ${id.length} bytes; at most ${HKDF_INFO_MAX_BYTES - OBJECT_INFO_PREFIX.length} allowed`);
  }
  return id;
}

/**
 * Per-object state: derived once per object (not per segment) because HKDF costs more than
 * encrypting a small segment. The nonce and AAD buffers are rewritten in place for each segment;
 * OpenSSL consumes both before createCipheriv / setAAD return.
 */
class SegmentContext {
  readonly key: Buffer;
  readonly nonce = Buffer.alloc(NONCE_LENGTH);
  readonly aad: Buffer;

  constructor(epochKey: Buffer, header: Header, objectId: string) {
    const id = checkObjectId(objectId);
    const info = Buffer.concat([Buffer.from(OBJECT_INFO_PREFIX, 'utf8'), id]);
    this.key = Buffer.from(hkdfSync('sha256', epochKey, header.salt, info, KEY_LENGTH));
    this.aad = Buffer.allocUnsafe(HEADER_LENGTH + id.length + 4);
    header.bytes.copy(this.aad, 0);
    id.copy(this.aad, HEADER_LENGTH);
  }

  select(index: number, final: boolean): void {
    // index < 2^32, so the top 7 bytes of the 11-byte counter stay zero.
    this.nonce.writeUInt32BE(index, 7);
    this.nonce[11] = final ? 1 : 0;
    this.aad.writeUInt32BE(index, this.aad.length - 4);
  }

  dispose(): void {
    this.key.fill(0);
  }
}

function lookupKey(keys: EpochKeyLookup, epoch: number, objectId: string): Buffer {
  const key = keys(epoch);
  if (key === undefined) throw new CcsError('LOCKED', `no key for epoch ${epoch} (needed to decrypt object ${objectId})`);
  assertKey(key, `key for epoch ${epoch}`);
  return key;
}

export function encryptObject(plaintext: Uint8Array, objectId: string, epoch: number, epochKey: Buffer): Buffer {
  assertKey(epochKey, `key for epoch ${epoch}`);
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) throw new CcsError('INTERNAL', `epoch ${epoch} is not a u32`);
  const layout = layoutForPlain(plaintext.length);
  // Written in place: one allocation for the whole object instead of concatenating segments.
  const out = Buffer.allocUnsafe(ciphertextLength(plaintext.length));
  MAGIC.copy(out, 0);
  out[4] = FORMAT_VERSION;
  out[5] = ALG_AES256GCM_STREAM;
  out.writeUInt16BE(0, 6);
  out.writeUInt32BE(epoch, EPOCH_OFFSET);
  randomFillSync(out, SALT_OFFSET, HEADER_LENGTH - SALT_OFFSET);
  const header: Header = { bytes: out.subarray(0, HEADER_LENGTH), epoch, salt: out.subarray(SALT_OFFSET, HEADER_LENGTH) };
  const ctx = new SegmentContext(epochKey, header, objectId);
  try {
    let pos = HEADER_LENGTH;
    for (let i = 0; i < layout.segments; i++) {
      const start = i * SEGMENT_SIZE;
      ctx.select(i, i === layout.segments - 1);
      const cipher = createCipheriv('aes-256-gcm', ctx.key, ctx.nonce, { authTagLength: TAG_LENGTH });
      cipher.setAAD(ctx.aad);
      // Node has no "update into" API, so each segment costs one 64 KiB memcpy; cheap next to AES.
      pos += cipher.update(plaintext.subarray(start, Math.min(start + SEGMENT_SIZE, plaintext.length))).copy(out, pos);
      pos += cipher.final().copy(out, pos);
      pos += cipher.getAuthTag().copy(out, pos);
    }
  } finally {
    ctx.dispose();
  }
  return out;
}

/**
 * Decrypts `count` consecutive segments starting at `first` from `src` (exactly their ciphertext)
 * and writes plaintext bytes [skip, skip + out.length) of that run into `out`.
 */
function openSegments(ctx: SegmentContext, layout: Layout, src: Buffer, first: number, count: number, out: Buffer, skip: number, objectId: string): void {
  let pos = 0;
  let produced = 0; // plaintext bytes of the run decrypted so far
  try {
    for (let i = first; i < first + count; i++) {
      const segLength = segmentCipherLength(layout, i);
      const tagAt = pos + segLength - TAG_LENGTH;
      ctx.select(i, i === layout.segments - 1);
      const decipher = createDecipheriv('aes-256-gcm', ctx.key, ctx.nonce, { authTagLength: TAG_LENGTH });
      decipher.setAAD(ctx.aad);
      decipher.setAuthTag(src.subarray(tagAt, tagAt + TAG_LENGTH));
      const plain = decipher.update(src.subarray(pos, tagAt));
      try {
        decipher.final();
      } catch (e) {
        plain.fill(0);
        throw new CcsError('OBJECT_CORRUPT', `object ${objectId} segment ${i} failed authentication: tampered or corrupt`, { cause: e });
      }
      const from = Math.max(0, skip - produced);
      const to = Math.min(plain.length, skip + out.length - produced);
      if (to > from) plain.copy(out, produced + from - skip, from, to);
      produced += plain.length;
      pos += segLength;
    }
  } catch (e) {
    // Earlier segments were authenticated, but returning them alone would be partial plaintext;
    // wipe so the bytes do not linger in memory a later allocUnsafe may hand out.
    out.fill(0);
    throw e;
  }
}

export function decryptObject(data: Uint8Array, objectId: string, keys: EpochKeyLookup): Buffer {
  const header = parseHeader(data, objectId);
  const layout = requireLayout(data.length, objectId);
  const ctx = new SegmentContext(lookupKey(keys, header.epoch, objectId), header, objectId);
  try {
    const out = Buffer.allocUnsafe(layout.plainLength);
    openSegments(ctx, layout, asBuffer(data).subarray(HEADER_LENGTH), 0, layout.segments, out, 0, objectId);
    return out;
  } finally {
    ctx.dispose();
  }
}

function requireCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new CcsError('INTERNAL', `${name} must be a non-negative integer, got ${value}`);
}

/** For reading a byte range of a large object (e.g. one chunk inside a pack) with a range GET. */
export function cipherRangeFor(
  plainOffset: number,
  plainLength: number,
  objectCipherLength: number,
): { cipherOffset: number; cipherLength: number; firstSegment: number; skip: number } {
  requireCount('plainOffset', plainOffset);
  requireCount('plainLength', plainLength);
  const layout = layoutForCipher(objectCipherLength);
  if (layout === null) throw new CcsError('OBJECT_CORRUPT', `object length ${objectCipherLength} is impossible for format v1`);
  if (plainOffset + plainLength > layout.plainLength) {
    throw new CcsError('OBJECT_CORRUPT', `range ${plainOffset}+${plainLength} lies beyond the object's ${layout.plainLength} plaintext bytes`);
  }
  // An empty range at the very end still maps to the last segment, so the header gets checked.
  const firstSegment = Math.min(Math.floor(plainOffset / SEGMENT_SIZE), layout.segments - 1);
  const lastSegment = plainLength === 0 ? firstSegment : Math.floor((plainOffset + plainLength - 1) / SEGMENT_SIZE);
  return {
    cipherOffset: HEADER_LENGTH + firstSegment * SEGMENT_CIPHER_SIZE,
    cipherLength: (lastSegment - firstSegment) * SEGMENT_CIPHER_SIZE + segmentCipherLength(layout, lastSegment),
    firstSegment,
    skip: plainOffset - firstSegment * SEGMENT_SIZE,
  };
}

/**
 * Decrypts the whole segments in `cipherSlice` (as located by cipherRangeFor) and returns exactly
 * `plainLength` bytes starting `skip` bytes into the first one. `objectCipherLength` tells which
 * segment is final; a wrong value fails authentication rather than misreading, because the final
 * flag is in the nonce.
 */
export function decryptRange(
  header: Uint8Array,
  cipherSlice: Uint8Array,
  firstSegment: number,
  objectCipherLength: number,
  objectId: string,
  keys: EpochKeyLookup,
  skip: number,
  plainLength: number,
): Buffer {
  requireCount('firstSegment', firstSegment);
  requireCount('skip', skip);
  requireCount('plainLength', plainLength);
  const parsed = parseHeader(header, objectId);
  const layout = requireLayout(objectCipherLength, objectId);
  if (firstSegment >= layout.segments) throw corrupt(objectId, `has no segment ${firstSegment} (it has ${layout.segments})`);
  const plainStart = firstSegment * SEGMENT_SIZE + skip;
  if (plainStart + plainLength > layout.plainLength) {
    throw corrupt(objectId, `has ${layout.plainLength} plaintext bytes, so range ${plainStart}+${plainLength} does not exist`);
  }
  const lastSegment = plainLength === 0 ? firstSegment : Math.floor((plainStart + plainLength - 1) / SEGMENT_SIZE);
  const expected = (lastSegment - firstSegment) * SEGMENT_CIPHER_SIZE + segmentCipherLength(layout, lastSegment);
  if (cipherSlice.length !== expected) {
    throw corrupt(objectId, `segments ${firstSegment}..${lastSegment} should be ${expected} bytes, got ${cipherSlice.length} (short read?)`);
  }
  const ctx = new SegmentContext(lookupKey(keys, parsed.epoch, objectId), parsed, objectId);
  try {
    const out = Buffer.allocUnsafe(plainLength);
    openSegments(ctx, layout, asBuffer(cipherSlice), firstSegment, lastSegment - firstSegment + 1, out, skip, objectId);
    return out;
  } finally {
    ctx.dispose();
  }
}
