/**
 * Key material: random keys, per-purpose subkeys, key wrapping, and MAC helpers. One master key per
 * vault; each use gets its own HKDF subkey so a weakness or leak in one use says nothing about the
 * others.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { CcsError } from '../common/errors';
import { decodeBase64Strict } from './base64';

export const KEY_LENGTH = 32;
const WRAP_NONCE_LENGTH = 12;
const WRAP_TAG_LENGTH = 16;

/** A wrong-length key is a programming error, never user input: fail loudly instead of deriving garbage. */
export function assertKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
    throw new CcsError('INTERNAL', `${what} must be ${KEY_LENGTH} bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`);
  }
}

export function randomKey(): Buffer {
  return randomBytes(KEY_LENGTH);
}

export interface Subkeys {
  chunkId: Buffer;
  metadata: Buffer;
  manifest: Buffer;
  gear: Buffer;
  localState: Buffer;
}

const SUBKEY_INFO = {
  chunkId: 'ccsync/v1/chunk-id',
  metadata: 'ccsync/v1/metadata',
  manifest: 'ccsync/v1/manifest',
  gear: 'ccsync/v1/gear',
  localState: 'ccsync/v1/local-state',
} as const satisfies Record<keyof Subkeys, string>;

/** The vault id as salt keeps two vaults that somehow share a master key from sharing subkeys. */
export function deriveSubkeys(masterKey: Buffer, vaultId: string): Subkeys {
  assertKey(masterKey, 'master key');
  if (vaultId.length === 0) throw new CcsError('INTERNAL', 'deriveSubkeys: vault id is empty');
  const salt = Buffer.from(vaultId, 'utf8');
  const derive = (info: string): Buffer => Buffer.from(hkdfSync('sha256', masterKey, salt, Buffer.from(info, 'utf8'), KEY_LENGTH));
  return {
    chunkId: derive(SUBKEY_INFO.chunkId),
    metadata: derive(SUBKEY_INFO.metadata),
    manifest: derive(SUBKEY_INFO.manifest),
    gear: derive(SUBKEY_INFO.gear),
    localState: derive(SUBKEY_INFO.localState),
  };
}

export interface WrappedKey {
  nonce: string; // base64, 12 bytes
  ciphertext: string; // base64, wrapped key || 16-byte GCM tag
}

/**
 * AES-256-GCM with a random 96-bit nonce. Random nonces are safe here because a KEK wraps only a
 * handful of keys in its life (one per password change or epoch), far below the ~2^32 messages at
 * which random GCM nonces start to risk a collision.
 */
export function wrapKey(kek: Buffer, key: Buffer, aad: string): WrappedKey {
  assertKey(kek, 'key-encryption key');
  const nonce = randomBytes(WRAP_NONCE_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: WRAP_TAG_LENGTH });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(key), cipher.final(), cipher.getAuthTag()]);
  return { nonce: nonce.toString('base64'), ciphertext: ciphertext.toString('base64') };
}

/**
 * Null when authentication fails: only the caller knows whether that means a wrong password or a
 * damaged file. Structurally malformed input is always corruption.
 */
export function unwrapKey(kek: Buffer, wrapped: WrappedKey, aad: string): Buffer | null {
  assertKey(kek, 'key-encryption key');
  const nonce = typeof wrapped?.nonce === 'string' ? decodeBase64Strict(wrapped.nonce) : null;
  if (nonce === null || nonce.length !== WRAP_NONCE_LENGTH) {
    throw new CcsError('OBJECT_CORRUPT', `wrapped key: nonce is not base64 of ${WRAP_NONCE_LENGTH} bytes`);
  }
  const sealed = typeof wrapped.ciphertext === 'string' ? decodeBase64Strict(wrapped.ciphertext) : null;
  if (sealed === null || sealed.length < WRAP_TAG_LENGTH) {
    throw new CcsError('OBJECT_CORRUPT', `wrapped key: ciphertext is not base64 of at least ${WRAP_TAG_LENGTH} bytes`);
  }
  const tagAt = sealed.length - WRAP_TAG_LENGTH;
  const decipher = createDecipheriv('aes-256-gcm', kek, nonce, { authTagLength: WRAP_TAG_LENGTH });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(tagAt));
  const key = decipher.update(sealed.subarray(0, tagAt));
  try {
    decipher.final();
  } catch {
    key.fill(0);
    return null;
  }
  return key;
}

export function hmacSha256(key: Buffer, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** Length is not secret (MACs have fixed sizes), so unequal lengths return false without comparing. */
export function timingSafeEqualBuf(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
