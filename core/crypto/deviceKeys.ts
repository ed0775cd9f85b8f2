import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { CcsError } from '../common/errors';

/**
 * Device identity (Ed25519) and pairing key agreement (X25519), from Node's crypto (OpenSSL).
 * Raw 32-byte keys travel in the vault's formats; KeyObjects stay in memory.
 */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

function rawPublic(prefix: Buffer, raw: Uint8Array, what: string): KeyObject {
  if (raw.length !== 32) throw new CcsError('OBJECT_CORRUPT', `${what} public key must be 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([prefix, raw]), format: 'der', type: 'spki' });
}

export function ed25519Generate(): { publicKey: Buffer; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKey: publicKey.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length), privateKey };
}

export function ed25519Sign(privateKey: KeyObject, message: Uint8Array): Buffer {
  return sign(null, message, privateKey);
}

/** False for any invalid signature or malformed key/signature; never throws on attacker input. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, message, rawPublic(ED25519_SPKI_PREFIX, publicKey, 'Ed25519'), signature);
  } catch {
    return false;
  }
}

export function x25519PrivateFromRaw(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

export function x25519Generate(): { publicKey: Buffer; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: publicKey.export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI_PREFIX.length), privateKey };
}

/**
 * X25519 shared secret. A low-order peer key yields the all-zero secret, which would let an
 * attacker fix the pairing key; it is refused (RFC 7748 §6.1).
 */
export function x25519Shared(privateKey: KeyObject, peerPublic: Uint8Array): Buffer {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: rawPublic(X25519_SPKI_PREFIX, peerPublic, 'X25519') });
  } catch (e) {
    // OpenSSL itself refuses derivations that end in the all-zero secret.
    throw new CcsError('OBJECT_CORRUPT', 'the peer X25519 key is of low order (all-zero shared secret): refused', { cause: e });
  }
  if (shared.every((b) => b === 0)) throw new CcsError('OBJECT_CORRUPT', 'the peer X25519 key is of low order (all-zero shared secret): refused');
  return shared;
}
