/**
 * Password → key-encryption key (KEK). The parameters are stored next to the wrapped master key, so
 * they are read from a file an attacker may have written: validate them before spending any work,
 * and bound them both ways — floors so a tampered file cannot quietly weaken a re-wrap, ceilings so
 * it cannot make us allocate gigabytes or spin for minutes.
 */
import { pbkdf2, randomBytes, scrypt } from 'node:crypto';
import argon2 from 'argon2';
import { CcsError } from '../common/errors';
import { decodeBase64Strict } from './base64';

export type KdfAlg = 'argon2id' | 'scrypt' | 'pbkdf2-sha256';
export type KdfParams =
  | { alg: 'argon2id'; memoryKiB: number; iterations: number; parallelism: number; salt: string } // salt base64, 16 bytes
  | { alg: 'scrypt'; logN: number; r: number; p: number; salt: string }
  | { alg: 'pbkdf2-sha256'; iterations: number; salt: string };

export const KEK_LENGTH = 32;

export const KDF_SALT_DEFAULT_BYTES = 16;
export const KDF_SALT_MIN_BYTES = 16;
export const KDF_SALT_MAX_BYTES = 64;

// Floors are the OWASP Password Storage Cheat Sheet minimums for each algorithm.
export const ARGON2ID_MEMORY_KIB_MIN = 19_456; // 19 MiB
export const ARGON2ID_ITERATIONS_MIN = 2;
export const SCRYPT_LOG_N_MIN = 17; // N = 2^17
export const PBKDF2_ITERATIONS_MIN = 600_000;

// Ceilings keep the worst hostile file to about 1 GiB of memory and seconds, not minutes, of CPU.
export const ARGON2ID_MEMORY_KIB_MAX = 1_048_576; // 1 GiB
export const ARGON2ID_ITERATIONS_MAX = 10;
export const ARGON2ID_PARALLELISM_MIN = 1;
export const ARGON2ID_PARALLELISM_MAX = 8;
export const SCRYPT_LOG_N_MAX = 20;
// scrypt requires N < 2^(16*r) (RFC 7914 §2), so with logN >= 17 r = 1 is invalid (OpenSSL refuses it).
export const SCRYPT_R_MIN = 2;
export const SCRYPT_R_MAX = 16;
export const SCRYPT_P_MIN = 1;
export const SCRYPT_P_MAX = 4;
export const SCRYPT_MEMORY_BYTES_MAX = 1024 * 1024 * 1024; // 128 * N * r
export const PBKDF2_ITERATIONS_MAX = 10_000_000;

export function defaultKdfParams(alg: KdfAlg): KdfParams {
  const salt = randomBytes(KDF_SALT_DEFAULT_BYTES).toString('base64');
  switch (alg) {
    case 'argon2id':
      return { alg, memoryKiB: 65_536, iterations: 3, parallelism: 1, salt };
    case 'scrypt':
      return { alg, logN: 17, r: 8, p: 1, salt };
    case 'pbkdf2-sha256':
      return { alg, iterations: 600_000, salt };
  }
}

type Fields = Record<string, unknown>;

function show(value: unknown): string {
  let text: string;
  try {
    if (value === undefined) text = 'missing';
    else if (typeof value === 'number') text = String(value); // JSON would print Infinity as null
    else text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  // The value comes from an untrusted file: keep a giant string out of logs and dialogs.
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function reject(field: string, value: unknown, problem: string): CcsError {
  return new CcsError('KDF_PARAMS_REJECTED', `KDF parameters rejected: ${field} = ${show(value)} ${problem}`);
}

function intField(o: Fields, alg: string, name: string, min: number, max: number, unit = ''): number {
  const field = `${alg}.${name}`;
  const v = Object.hasOwn(o, name) ? o[name] : undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw reject(field, v, 'is not an integer');
  if (v < min) throw reject(field, v, `is below the minimum ${min}${unit}`);
  if (v > max) throw reject(field, v, `is above the maximum ${max}${unit}`);
  return v;
}

function saltField(o: Fields, alg: string): string {
  const field = `${alg}.salt`;
  const v = Object.hasOwn(o, 'salt') ? o.salt : undefined;
  if (typeof v !== 'string') throw reject(field, v, 'is not a base64 string');
  // Checked before decoding so a megabyte-long "salt" costs nothing.
  const bytes = v.length <= Math.ceil(KDF_SALT_MAX_BYTES / 3) * 4 ? decodeBase64Strict(v) : null;
  if (bytes === null) throw reject(field, v, `is not canonical base64 of ${KDF_SALT_MIN_BYTES}..${KDF_SALT_MAX_BYTES} bytes`);
  if (bytes.length < KDF_SALT_MIN_BYTES || bytes.length > KDF_SALT_MAX_BYTES) {
    throw reject(field, v, `decodes to ${bytes.length} bytes, outside ${KDF_SALT_MIN_BYTES}..${KDF_SALT_MAX_BYTES}`);
  }
  return v;
}

// A field we do not understand (a pepper, a version) might be meant to change the key; deriving
// without it would silently produce the wrong KEK, so unknown fields are refused.
function onlyFields(o: Fields, alg: string, allowed: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw reject(`${alg}.${key}`, o[key], `is not a known field (expected ${allowed.join(', ')})`);
  }
}

/** Parses KDF parameters read from a (possibly hostile) key file. Returns a fresh, clean object. */
export function validateKdfParams(p: unknown): KdfParams {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw reject('kdf', p, 'is not an object');
  const o = p as Fields;
  const alg = Object.hasOwn(o, 'alg') ? o.alg : undefined;
  if (alg === 'argon2id') {
    onlyFields(o, alg, ['alg', 'memoryKiB', 'iterations', 'parallelism', 'salt']);
    return {
      alg,
      memoryKiB: intField(o, alg, 'memoryKiB', ARGON2ID_MEMORY_KIB_MIN, ARGON2ID_MEMORY_KIB_MAX, ' KiB'),
      iterations: intField(o, alg, 'iterations', ARGON2ID_ITERATIONS_MIN, ARGON2ID_ITERATIONS_MAX),
      parallelism: intField(o, alg, 'parallelism', ARGON2ID_PARALLELISM_MIN, ARGON2ID_PARALLELISM_MAX),
      salt: saltField(o, alg),
    };
  }
  if (alg === 'scrypt') {
    onlyFields(o, alg, ['alg', 'logN', 'r', 'p', 'salt']);
    const logN = intField(o, alg, 'logN', SCRYPT_LOG_N_MIN, SCRYPT_LOG_N_MAX);
    const r = intField(o, alg, 'r', SCRYPT_R_MIN, SCRYPT_R_MAX);
    const pp = intField(o, alg, 'p', SCRYPT_P_MIN, SCRYPT_P_MAX);
    const memory = 128 * 2 ** logN * r;
    if (memory > SCRYPT_MEMORY_BYTES_MAX) {
      throw reject(`${alg}.r`, r, `with logN ${logN} needs 128*N*r = ${memory} bytes, above the maximum ${SCRYPT_MEMORY_BYTES_MAX} bytes (1 GiB)`);
    }
    return { alg, logN, r, p: pp, salt: saltField(o, alg) };
  }
  if (alg === 'pbkdf2-sha256') {
    onlyFields(o, alg, ['alg', 'iterations', 'salt']);
    return {
      alg,
      iterations: intField(o, alg, 'iterations', PBKDF2_ITERATIONS_MIN, PBKDF2_ITERATIONS_MAX),
      salt: saltField(o, alg),
    };
  }
  throw reject('kdf.alg', alg, 'is not one of argon2id, scrypt, pbkdf2-sha256');
}

function scryptAsync(pw: Buffer, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  // OpenSSL refuses work above maxmem (32 MiB by default); its own estimate is 128*r*(N+2) + 128*r*p.
  const maxmem = 128 * r * (N + p + 2) + 1024 * 1024;
  return new Promise((resolve, fail) => {
    scrypt(pw, salt, KEK_LENGTH, { N, r, p, maxmem }, (err, key) => (err ? fail(err) : resolve(key)));
  });
}

function pbkdf2Async(pw: Buffer, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, fail) => {
    pbkdf2(pw, salt, iterations, KEK_LENGTH, 'sha256', (err, key) => (err ? fail(err) : resolve(key)));
  });
}

/**
 * Derives the 32-byte KEK. Every path runs on the libuv thread pool (node-argon2 and the callback
 * forms of crypto.scrypt / crypto.pbkdf2), so the UI and sync engine keep running meanwhile.
 */
export async function deriveKek(password: string, params: KdfParams): Promise<Buffer> {
  const p = validateKdfParams(params);
  const salt = decodeBase64Strict(p.salt);
  if (salt === null) throw reject(`${p.alg}.salt`, p.salt, 'is not base64');
  // NFC first: macOS input and file names tend to produce decomposed "é" (e + U+0301) while Linux
  // and Windows produce the composed U+00E9; without normalizing, the same typed password would
  // derive different keys on different machines and look like a wrong password.
  const pw = Buffer.from(password.normalize('NFC'), 'utf8');
  try {
    switch (p.alg) {
      case 'argon2id':
        return await argon2.hash(pw, {
          raw: true,
          type: argon2.argon2id,
          salt,
          memoryCost: p.memoryKiB,
          timeCost: p.iterations,
          parallelism: p.parallelism,
          hashLength: KEK_LENGTH,
        });
      case 'scrypt':
        return await scryptAsync(pw, salt, p.logN, p.r, p.p);
      case 'pbkdf2-sha256':
        return await pbkdf2Async(pw, salt, p.iterations);
    }
  } catch (e) {
    throw new CcsError('INTERNAL', `${p.alg} key derivation failed: ${(e as Error).message}`, { cause: e });
  } finally {
    // Best effort: shortens the time the password's bytes sit in memory we own.
    pw.fill(0);
  }
}
