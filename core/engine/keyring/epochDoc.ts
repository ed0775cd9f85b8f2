import { createHash, hkdfSync } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../../common/canonicalJson';
import { hmacSha256 } from '../../crypto/keys';
import { DeviceIdSchema } from '../format';
import { signFor, verifyFor, type DeviceIdentity } from './identity';

/**
 * Key epochs (docs/DESIGN.md "Key hierarchy"). Epoch n has a random data key E_n that encrypts
 * every object written while n is current. `keys/epoch/<n>` describes it and is signed by the
 * device that created it; E_n itself travels only in grants (sealed boxes) to each member device
 * and to the password and recovery slots, and `prev` (E_{n-1} wrapped by E_n) lets any holder of
 * E_n read everything older.
 */
const b64Key = z.string().regex(/^[A-Za-z0-9+/]{43}=$/);
export const WrappedSchema = z.object({ nonce: z.string().max(64), ciphertext: z.string().max(256) });

export const MemberSchema = z.object({ id: DeviceIdSchema, name: z.string().max(200), signPub: b64Key, kexPub: b64Key });
export type Member = z.infer<typeof MemberSchema>;

export const RevokedSchema = z.object({
  id: DeviceIdSchema,
  name: z.string().max(200),
  /** Its signing key, so entries it wrote before the revocation stay verifiable. */
  signPub: b64Key,
  /** The revoked device's last log entry that stays valid; later ones are refused. */
  lastSeq: z.number().int().nonnegative(),
  at: z.string().max(64),
  by: DeviceIdSchema,
});
export type Revoked = z.infer<typeof RevokedSchema>;

export const EpochDocSchema = z.object({
  format: z.literal(2),
  vaultId: z.string().regex(/^[0-9a-f]{32}$/),
  epoch: z.number().int().positive(),
  createdAt: z.string().max(64),
  createdBy: DeviceIdSchema,
  reason: z.enum(['init', 'rotate', 'revoke']),
  /** HMAC(E_n, …): tells a grant that opens to the real E_n from one sealed by anyone else. */
  check: z.string().regex(/^[0-9a-f]{64}$/),
  prev: WrappedSchema.nullable(),
  members: z.array(MemberSchema).max(1000),
  revoked: z.array(RevokedSchema).max(1000),
  /** Epoch 1 only: HMAC under a master-key subkey, the root of trust for the signer of epoch 1. */
  rootMac: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  sig: z.string().max(128),
});
export type EpochDoc = z.infer<typeof EpochDocSchema>;

export const RegistrationSchema = z.object({
  format: z.literal(2),
  vaultId: z.string().regex(/^[0-9a-f]{32}$/),
  id: DeviceIdSchema,
  name: z.string().max(200),
  signPub: b64Key,
  kexPub: b64Key,
  /** The epoch whose key MACs this registration: only a holder of that key could add a device. */
  epoch: z.number().int().positive(),
  createdAt: z.string().max(64),
  mac: z.string().regex(/^[0-9a-f]{64}$/),
  /** Self-signature: proof that the device holds the signing key it registers. */
  sig: z.string().max(128),
});
export type Registration = z.infer<typeof RegistrationSchema>;

export const epochCheck = (key: Buffer, vaultId: string, epoch: number) => hmacSha256(key, Buffer.from(`ccsync/v2/epoch-check/${vaultId}/${epoch}`)).toString('hex');
export const prevAad = (vaultId: string, epoch: number) => `ccsync/v2/epoch-prev/${vaultId}/${epoch}`;
export const grantContext = (vaultId: string, epoch: number, slot: string) => `grant/${vaultId}/${epoch}/${slot}`;

const subkey = (ikm: Buffer, vaultId: string, info: string) => Buffer.from(hkdfSync('sha256', ikm, Buffer.from(vaultId), Buffer.from(info), 32));

const unsignedBody = (doc: Omit<EpochDoc, 'sig'> | EpochDoc) => {
  const { sig: _sig, ...rest } = doc as EpochDoc;
  return Buffer.from(canonicalJson(rest));
};

export function rootMacOf(masterKey: Buffer, doc: Omit<EpochDoc, 'sig' | 'rootMac'>): string {
  const { sig: _s, rootMac: _r, ...rest } = doc as EpochDoc;
  return hmacSha256(subkey(masterKey, doc.vaultId, 'ccsync/v2/epoch-root'), Buffer.from(canonicalJson(rest))).toString('hex');
}

export function signEpochDoc(identity: DeviceIdentity, doc: Omit<EpochDoc, 'sig'>): EpochDoc {
  return { ...doc, sig: signFor(identity, 'epoch', unsignedBody(doc)) };
}

export function epochDocSignatureValid(doc: EpochDoc, signPub: Buffer): boolean {
  return verifyFor(signPub, 'epoch', unsignedBody(doc), doc.sig);
}

const registrationMacBody = (r: Omit<Registration, 'mac' | 'sig'> | Registration) => {
  const { mac: _m, sig: _s, ...rest } = r as Registration;
  return Buffer.from(canonicalJson(rest));
};

export function makeRegistration(identity: DeviceIdentity, name: string, vaultId: string, epoch: number, epochKey: Buffer): Registration {
  const body = { format: 2 as const, vaultId, id: identity.deviceId, name, signPub: identity.signPub.toString('base64'), kexPub: identity.kexPub.toString('base64'), epoch, createdAt: new Date().toISOString() };
  const mac = hmacSha256(subkey(epochKey, vaultId, 'ccsync/v2/device-registration'), registrationMacBody(body)).toString('hex');
  const withMac = { ...body, mac };
  return { ...withMac, sig: signFor(identity, 'registration', Buffer.from(canonicalJson(withMac))) };
}

export function registrationValid(r: Registration, epochKey: Buffer): boolean {
  const mac = hmacSha256(subkey(epochKey, r.vaultId, 'ccsync/v2/device-registration'), registrationMacBody(r)).toString('hex');
  if (mac !== r.mac) return false;
  const { sig: _s, ...withMac } = r;
  return verifyFor(Buffer.from(r.signPub, 'base64'), 'registration', Buffer.from(canonicalJson(withMac)), r.sig);
}

export const docDigest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
