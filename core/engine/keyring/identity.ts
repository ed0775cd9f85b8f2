import { createPrivateKey, createPublicKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { CcsError } from '../../common/errors';
import { ed25519Sign, ed25519Verify, x25519PrivateFromRaw } from '../../crypto/deviceKeys';

/**
 * A device's long-term identity: an Ed25519 key that signs everything the device writes, and an
 * X25519 key that data-key grants are sealed to. Both come from one random 32-byte seed kept in
 * the OS keychain next to the vault key, so the keychain holds one secret per device.
 */
export interface DeviceIdentity {
  deviceId: string;
  seed: Buffer;
  signPriv: KeyObject;
  signPub: Buffer;
  kexPriv: KeyObject;
  kexPub: Buffer;
}

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX_LENGTH = 12;

const derive = (seed: Buffer, info: string) => Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), Buffer.from(info), 32));
const rawPublicOf = (priv: KeyObject) => createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX_LENGTH);

export function identityFromSeed(deviceId: string, seed: Buffer): DeviceIdentity {
  if (seed.length !== 32) throw new CcsError('INTERNAL', `device seed must be 32 bytes, got ${seed.length}`);
  const signPriv = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, derive(seed, 'ccsync/v2/device/sign')]), format: 'der', type: 'pkcs8' });
  const kexPriv = x25519PrivateFromRaw(derive(seed, 'ccsync/v2/device/kex'));
  return { deviceId, seed, signPriv, signPub: rawPublicOf(signPriv), kexPriv, kexPub: rawPublicOf(kexPriv) };
}

export function newIdentity(deviceId: string): DeviceIdentity {
  return identityFromSeed(deviceId, randomBytes(32));
}

/** Domain-separated signatures: a signature made for one purpose never verifies for another. */
export function signFor(identity: DeviceIdentity, purpose: string, message: Uint8Array): string {
  return ed25519Sign(identity.signPriv, Buffer.concat([Buffer.from(`ccsync/v2/sig/${purpose}\0`), message])).toString('base64');
}

export function verifyFor(signPub: Uint8Array, purpose: string, message: Uint8Array, signature: string): boolean {
  const sig = Buffer.from(signature, 'base64');
  if (sig.length !== 64 || sig.toString('base64') !== signature) return false;
  return ed25519Verify(signPub, Buffer.concat([Buffer.from(`ccsync/v2/sig/${purpose}\0`), message]), sig);
}

/** Short, stable fingerprint of a public key for humans (`devices`, `verify --device`). */
export function fingerprint(pub: Uint8Array): string {
  const hex = Buffer.from(hkdfSync('sha256', pub, Buffer.alloc(0), Buffer.from('ccsync/v2/fingerprint'), 10)).toString('hex');
  return hex.match(/.{4}/g)!.join(':');
}
