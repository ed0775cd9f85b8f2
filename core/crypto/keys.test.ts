import { hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCcsError } from '../common/errors';
import { KEY_LENGTH, deriveSubkeys, hmacSha256, randomKey, timingSafeEqualBuf, unwrapKey, wrapKey, type Subkeys } from './keys';

const master = Buffer.alloc(32, 0x42);

describe('randomKey', () => {
  it('returns fresh 32-byte keys', () => {
    const a = randomKey();
    expect(a).toHaveLength(KEY_LENGTH);
    expect(a.equals(randomKey())).toBe(false);
  });
});

describe('deriveSubkeys', () => {
  it('derives five distinct 32-byte keys, deterministically', () => {
    const a = deriveSubkeys(master, 'vault-1');
    const b = deriveSubkeys(master, 'vault-1');
    const names = Object.keys(a) as (keyof Subkeys)[];
    expect(names.sort()).toEqual(['chunkId', 'gear', 'localState', 'manifest', 'metadata']);
    for (const name of names) {
      expect(a[name]).toHaveLength(32);
      expect(a[name].equals(b[name])).toBe(true);
    }
    expect(new Set(names.map((n) => a[n].toString('hex'))).size).toBe(5);
  });

  it('uses HKDF-SHA256 with the vault id as salt and the documented labels', () => {
    const expected = Buffer.from(hkdfSync('sha256', master, Buffer.from('vault-1'), Buffer.from('ccsync/v1/chunk-id'), 32));
    expect(deriveSubkeys(master, 'vault-1').chunkId.equals(expected)).toBe(true);
  });

  it('differs between vaults and between master keys', () => {
    const a = deriveSubkeys(master, 'vault-1');
    expect(deriveSubkeys(master, 'vault-2').metadata.equals(a.metadata)).toBe(false);
    expect(deriveSubkeys(Buffer.alloc(32, 1), 'vault-1').metadata.equals(a.metadata)).toBe(false);
  });

  it('refuses a wrong-length master key or an empty vault id', () => {
    expect(() => deriveSubkeys(Buffer.alloc(16), 'v')).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    expect(() => deriveSubkeys(master, '')).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});

describe('wrapKey / unwrapKey', () => {
  const kek = randomKey();
  const key = randomKey();

  it('round-trips', () => {
    const wrapped = wrapKey(kek, key, 'vault-1/master');
    expect(Buffer.from(wrapped.nonce, 'base64')).toHaveLength(12);
    expect(Buffer.from(wrapped.ciphertext, 'base64')).toHaveLength(32 + 16);
    expect(unwrapKey(kek, wrapped, 'vault-1/master')?.equals(key)).toBe(true);
  });

  it('uses a fresh nonce for every wrap', () => {
    expect(wrapKey(kek, key, 'a').nonce).not.toBe(wrapKey(kek, key, 'a').nonce);
  });

  it('returns null for a wrong kek', () => {
    expect(unwrapKey(randomKey(), wrapKey(kek, key, 'aad'), 'aad')).toBeNull();
  });

  it('returns null for a wrong aad', () => {
    expect(unwrapKey(kek, wrapKey(kek, key, 'vault-1/master'), 'vault-2/master')).toBeNull();
  });

  it('returns null for a tampered ciphertext', () => {
    const wrapped = wrapKey(kek, key, 'aad');
    const bytes = Buffer.from(wrapped.ciphertext, 'base64');
    bytes[0]! ^= 1;
    expect(unwrapKey(kek, { ...wrapped, ciphertext: bytes.toString('base64') }, 'aad')).toBeNull();
  });

  it.each([
    ['nonce not base64', { nonce: '***', ciphertext: Buffer.alloc(48).toString('base64') }],
    ['nonce too short', { nonce: Buffer.alloc(8).toString('base64'), ciphertext: Buffer.alloc(48).toString('base64') }],
    ['ciphertext not base64', { nonce: Buffer.alloc(12).toString('base64'), ciphertext: 'abc' }],
    ['ciphertext shorter than a tag', { nonce: Buffer.alloc(12).toString('base64'), ciphertext: Buffer.alloc(15).toString('base64') }],
    ['fields missing', {}],
  ])('throws OBJECT_CORRUPT for malformed input: %s', (_name, wrapped) => {
    let thrown: unknown;
    try {
      unwrapKey(kek, wrapped as never, 'aad');
    } catch (e) {
      thrown = e;
    }
    expect(isCcsError(thrown, 'OBJECT_CORRUPT')).toBe(true);
  });
});

describe('hmacSha256 / timingSafeEqualBuf', () => {
  it('computes RFC 4231 test case 2', () => {
    const mac = hmacSha256(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'));
    expect(mac.toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('compares by content and treats different lengths as unequal', () => {
    expect(timingSafeEqualBuf(Buffer.from([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(timingSafeEqualBuf(Buffer.from([1, 2, 3]), Buffer.from([1, 2, 4]))).toBe(false);
    expect(timingSafeEqualBuf(Buffer.from([1, 2, 3]), Buffer.from([1, 2]))).toBe(false);
    expect(timingSafeEqualBuf(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});
