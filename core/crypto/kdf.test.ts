import { pbkdf2, pbkdf2Sync, scrypt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import argon2 from 'argon2';
import { argon2id as wasmArgon2id, scrypt as wasmScrypt } from 'hash-wasm';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CcsError } from '../common/errors';
import {
  ARGON2ID_ITERATIONS_MAX,
  ARGON2ID_ITERATIONS_MIN,
  ARGON2ID_MEMORY_KIB_MAX,
  ARGON2ID_MEMORY_KIB_MIN,
  ARGON2ID_PARALLELISM_MAX,
  ARGON2ID_PARALLELISM_MIN,
  PBKDF2_ITERATIONS_MAX,
  PBKDF2_ITERATIONS_MIN,
  SCRYPT_LOG_N_MAX,
  SCRYPT_LOG_N_MIN,
  SCRYPT_P_MAX,
  SCRYPT_P_MIN,
  SCRYPT_R_MAX,
  SCRYPT_R_MIN,
  defaultKdfParams,
  deriveKek,
  validateKdfParams,
  type KdfAlg,
  type KdfParams,
} from './kdf';

// Pass-through spies, so a test can prove that a rejected key file never reached a KDF.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, scrypt: vi.fn(actual.scrypt), pbkdf2: vi.fn(actual.pbkdf2) };
});
const argon2Hash = vi.spyOn(argon2, 'hash');
beforeEach(() => {
  vi.clearAllMocks();
});

const SALT = Buffer.alloc(16, 0x5a);
const SALT_B64 = SALT.toString('base64');
const PASSWORD = 'correct horse battery staple';

// The cheapest parameters the floors allow, so the suite stays fast.
const ARGON2_MIN: KdfParams = { alg: 'argon2id', memoryKiB: ARGON2ID_MEMORY_KIB_MIN, iterations: ARGON2ID_ITERATIONS_MIN, parallelism: 1, salt: SALT_B64 };
const SCRYPT_MIN: KdfParams = { alg: 'scrypt', logN: SCRYPT_LOG_N_MIN, r: 8, p: 1, salt: SALT_B64 };
const PBKDF2_MIN: KdfParams = { alg: 'pbkdf2-sha256', iterations: PBKDF2_ITERATIONS_MIN, salt: SALT_B64 };

/** What a key file on disk would hold: plain JSON, not objects with prototypes of ours. */
function hostile(base: KdfParams, patch: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify({ ...base, ...patch }));
}

describe('defaultKdfParams', () => {
  it.each<[KdfAlg, Record<string, number>]>([
    ['argon2id', { memoryKiB: 65536, iterations: 3, parallelism: 1 }],
    ['scrypt', { logN: 17, r: 8, p: 1 }],
    ['pbkdf2-sha256', { iterations: 600000 }],
  ])('%s: documented defaults, a fresh 16-byte salt, and valid', (alg, expected) => {
    const a = defaultKdfParams(alg);
    const b = defaultKdfParams(alg);
    expect(a).toMatchObject({ alg, ...expected });
    expect(Buffer.from(a.salt, 'base64')).toHaveLength(16);
    expect(a.salt).not.toBe(b.salt);
    expect(validateKdfParams(JSON.parse(JSON.stringify(a)))).toEqual(a);
  });
});

describe('deriveKek', () => {
  it('argon2id: deterministic 32 bytes, matching an independent implementation (hash-wasm)', async () => {
    const a = await deriveKek(PASSWORD, ARGON2_MIN);
    const b = await deriveKek(PASSWORD, ARGON2_MIN);
    expect(a).toHaveLength(32);
    expect(a.equals(b)).toBe(true);
    const reference = await wasmArgon2id({ password: PASSWORD, salt: SALT, iterations: 2, parallelism: 1, memorySize: ARGON2ID_MEMORY_KIB_MIN, hashLength: 32, outputType: 'hex' });
    expect(a.toString('hex')).toBe(reference);
    expect((await deriveKek(PASSWORD, { ...ARGON2_MIN, salt: Buffer.alloc(16, 1).toString('base64') })).equals(a)).toBe(false);
    expect(argon2Hash).toHaveBeenCalled();
  });

  it('scrypt: deterministic 32 bytes, matching an independent implementation (hash-wasm)', async () => {
    const a = await deriveKek(PASSWORD, SCRYPT_MIN);
    const b = await deriveKek(PASSWORD, SCRYPT_MIN);
    expect(a).toHaveLength(32);
    expect(a.equals(b)).toBe(true);
    const reference = await wasmScrypt({ password: PASSWORD, salt: SALT, costFactor: 2 ** 17, blockSize: 8, parallelism: 1, hashLength: 32, outputType: 'hex' });
    expect(a.toString('hex')).toBe(reference);
    expect(vi.mocked(scrypt)).toHaveBeenCalled();
  });

  it('pbkdf2-sha256: deterministic 32 bytes, known answer at 600000 iterations', async () => {
    const a = await deriveKek(PASSWORD, PBKDF2_MIN);
    const b = await deriveKek(PASSWORD, PBKDF2_MIN);
    expect(a).toHaveLength(32);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(pbkdf2Sync(Buffer.from(PASSWORD, 'utf8'), SALT, 600_000, 32, 'sha256'))).toBe(true);
    expect(vi.mocked(pbkdf2)).toHaveBeenCalled();
  });

  it('gives the same key for the NFC and NFD forms of "café"', async () => {
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    expect(Buffer.from(nfc).equals(Buffer.from(nfd))).toBe(false);
    const a = await deriveKek(nfc, PBKDF2_MIN);
    const b = await deriveKek(nfd, PBKDF2_MIN);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(pbkdf2Sync(Buffer.from(nfc, 'utf8'), SALT, 600_000, 32, 'sha256'))).toBe(true);
    expect((await deriveKek(nfd, ARGON2_MIN)).equals(await deriveKek(nfc, ARGON2_MIN))).toBe(true);
  });

  it.each<[string, KdfParams]>([
    ['argon2id (defaults)', { ...(defaultKdfParams('argon2id') as KdfParams), salt: SALT_B64 }],
    ['scrypt', SCRYPT_MIN],
    ['pbkdf2-sha256', PBKDF2_MIN],
  ])('keeps the event loop ticking during %s', async (_name, params) => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const start = performance.now();
    try {
      await deriveKek(PASSWORD, params);
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - start;
    // A derivation on the main thread would allow at most one tick; a loaded CI box may delay some.
    expect(ticks, `${ticks} ticks in ${elapsed.toFixed(0)} ms`).toBeGreaterThanOrEqual(Math.max(3, Math.floor(elapsed / 5 / 4)));
  });
});

describe('validateKdfParams rejects hostile key files before any work', () => {
  const cases: [string, unknown, RegExp][] = [
    ['argon2id memory floor', hostile(ARGON2_MIN, { memoryKiB: ARGON2ID_MEMORY_KIB_MIN - 1 }), /argon2id\.memoryKiB = 19455 is below the minimum 19456 KiB/],
    ['argon2id memory ceiling', hostile(ARGON2_MIN, { memoryKiB: ARGON2ID_MEMORY_KIB_MAX + 1 }), /argon2id\.memoryKiB = 1048577 is above the maximum 1048576 KiB/],
    ['argon2id memory far above the ceiling', hostile(ARGON2_MIN, { memoryKiB: 2 ** 32 }), /argon2id\.memoryKiB = 4294967296 is above the maximum 1048576/],
    ['argon2id iterations floor', hostile(ARGON2_MIN, { iterations: ARGON2ID_ITERATIONS_MIN - 1 }), /argon2id\.iterations = 1 is below the minimum 2/],
    ['argon2id iterations ceiling', hostile(ARGON2_MIN, { iterations: ARGON2ID_ITERATIONS_MAX + 1 }), /argon2id\.iterations = 11 is above the maximum 10/],
    ['argon2id parallelism floor', hostile(ARGON2_MIN, { parallelism: ARGON2ID_PARALLELISM_MIN - 1 }), /argon2id\.parallelism = 0 is below the minimum 1/],
    ['argon2id parallelism ceiling', hostile(ARGON2_MIN, { parallelism: ARGON2ID_PARALLELISM_MAX + 1 }), /argon2id\.parallelism = 9 is above the maximum 8/],
    ['scrypt logN floor', hostile(SCRYPT_MIN, { logN: SCRYPT_LOG_N_MIN - 1 }), /scrypt\.logN = 16 is below the minimum 17/],
    ['scrypt logN ceiling', hostile(SCRYPT_MIN, { logN: SCRYPT_LOG_N_MAX + 1 }), /scrypt\.logN = 21 is above the maximum 20/],
    ['scrypt r floor', hostile(SCRYPT_MIN, { r: SCRYPT_R_MIN - 1 }), /scrypt\.r = 1 is below the minimum 2/],
    ['scrypt r ceiling', hostile(SCRYPT_MIN, { r: SCRYPT_R_MAX + 1 }), /scrypt\.r = 17 is above the maximum 16/],
    ['scrypt p floor', hostile(SCRYPT_MIN, { p: SCRYPT_P_MIN - 1 }), /scrypt\.p = 0 is below the minimum 1/],
    ['scrypt p ceiling', hostile(SCRYPT_MIN, { p: SCRYPT_P_MAX + 1 }), /scrypt\.p = 5 is above the maximum 4/],
    ['scrypt total memory ceiling', hostile(SCRYPT_MIN, { logN: 20, r: 16 }), /scrypt\.r = 16 with logN 20 needs 128\*N\*r = 2147483648 bytes, above the maximum 1073741824/],
    ['pbkdf2 iterations floor', hostile(PBKDF2_MIN, { iterations: PBKDF2_ITERATIONS_MIN - 1 }), /pbkdf2-sha256\.iterations = 599999 is below the minimum 600000/],
    ['pbkdf2 iterations ceiling', hostile(PBKDF2_MIN, { iterations: PBKDF2_ITERATIONS_MAX + 1 }), /pbkdf2-sha256\.iterations = 10000001 is above the maximum 10000000/],
    ['salt too short', hostile(ARGON2_MIN, { salt: Buffer.alloc(15).toString('base64') }), /argon2id\.salt = .* decodes to 15 bytes, outside 16\.\.64/],
    ['salt too long', hostile(SCRYPT_MIN, { salt: Buffer.alloc(65).toString('base64') }), /scrypt\.salt = .* decodes to 65 bytes, outside 16\.\.64/],
    ['salt megabytes long', hostile(PBKDF2_MIN, { salt: 'A'.repeat(4_000_000) }), /pbkdf2-sha256\.salt = "AAAA.*…/],
    ['salt not base64', hostile(ARGON2_MIN, { salt: '!!!!notbase64!!!!!!!!!!!' }), /argon2id\.salt = .* not canonical base64/],
    ['salt unpadded', hostile(ARGON2_MIN, { salt: SALT_B64.replace(/=+$/, '') }), /argon2id\.salt = .* not canonical base64/],
    ['salt not a string', hostile(ARGON2_MIN, { salt: 12345 }), /argon2id\.salt = 12345 is not a base64 string/],
    ['salt missing', hostile(ARGON2_MIN, { salt: undefined }), /argon2id\.salt = missing is not a base64 string/],
    ['unknown alg', hostile(PBKDF2_MIN, { alg: 'md5' }), /kdf\.alg = "md5" is not one of argon2id, scrypt, pbkdf2-sha256/],
    ['alg missing', { iterations: 600000, salt: SALT_B64 }, /kdf\.alg = missing is not one of/],
    ['not an object (null)', null, /kdf = null is not an object/],
    ['not an object (array)', [ARGON2_MIN], /kdf = .* is not an object/],
    ['not an object (string)', 'argon2id', /kdf = "argon2id" is not an object/],
    ['number given as a string', hostile(ARGON2_MIN, { memoryKiB: '65536' }), /argon2id\.memoryKiB = "65536" is not an integer/],
    ['fractional number', hostile(PBKDF2_MIN, { iterations: 600000.5 }), /pbkdf2-sha256\.iterations = 600000.5 is not an integer/],
    ['infinite number', JSON.parse(`{"alg":"pbkdf2-sha256","iterations":1e999,"salt":"${SALT_B64}"}`), /pbkdf2-sha256\.iterations = Infinity is not an integer/],
    ['field missing', hostile(SCRYPT_MIN, { r: undefined }), /scrypt\.r = missing is not an integer/],
    ['unknown field', hostile(ARGON2_MIN, { pepper: 'x' }), /argon2id\.pepper = "x" is not a known field/],
    ['field of another alg', hostile(PBKDF2_MIN, { memoryKiB: 65536 }), /pbkdf2-sha256\.memoryKiB = 65536 is not a known field/],
    ['inherited field', Object.assign(Object.create({ iterations: 600000 }) as object, { alg: 'pbkdf2-sha256', salt: SALT_B64 }), /pbkdf2-sha256\.iterations = missing/],
  ];

  it.each(cases)('%s', async (_name, params, message) => {
    let thrown: unknown;
    try {
      validateKdfParams(params);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(CcsError);
    expect((thrown as CcsError).code).toBe('KDF_PARAMS_REJECTED');
    expect((thrown as CcsError).message).toMatch(message);

    const start = performance.now();
    await expect(deriveKek(PASSWORD, params as KdfParams)).rejects.toMatchObject({ code: 'KDF_PARAMS_REJECTED' });
    // Just past a ceiling, a real derivation takes seconds; the bound leaves room for a loaded CI box.
    expect(performance.now() - start).toBeLessThan(250);
    expect(argon2Hash).not.toHaveBeenCalled();
    expect(vi.mocked(scrypt)).not.toHaveBeenCalled();
    expect(vi.mocked(pbkdf2)).not.toHaveBeenCalled();
  });

  it('returns a clean copy, not the caller object', () => {
    const input = hostile(ARGON2_MIN, {}) as Record<string, unknown>;
    const out = validateKdfParams(input);
    expect(out).toEqual(ARGON2_MIN);
    expect(out).not.toBe(input);
  });

  it('accepts every limit exactly at its bound', () => {
    expect(() => validateKdfParams(hostile(ARGON2_MIN, { memoryKiB: ARGON2ID_MEMORY_KIB_MAX, iterations: ARGON2ID_ITERATIONS_MAX, parallelism: ARGON2ID_PARALLELISM_MAX }))).not.toThrow();
    expect(() => validateKdfParams(hostile(SCRYPT_MIN, { logN: SCRYPT_LOG_N_MAX, r: 8, p: SCRYPT_P_MAX }))).not.toThrow();
    expect(() => validateKdfParams(hostile(SCRYPT_MIN, { logN: SCRYPT_LOG_N_MIN, r: SCRYPT_R_MAX }))).not.toThrow();
    expect(() => validateKdfParams(hostile(PBKDF2_MIN, { iterations: PBKDF2_ITERATIONS_MAX, salt: Buffer.alloc(64).toString('base64') }))).not.toThrow();
  });
});
