import { hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../common/canonicalJson';
import { CcsError, isCcsError } from '../common/errors';
import { DEFAULT_CDC, validateCdcParams, type CdcParams } from '../chunking/fastcdc';
import { gearTable } from '../chunking/gear';
import { deriveKek, defaultKdfParams, validateKdfParams, type KdfAlg, type KdfParams } from '../crypto/kdf';
import { deriveSubkeys, hmacSha256, randomKey, timingSafeEqualBuf, unwrapKey, wrapKey, type Subkeys } from '../crypto/keys';
import type { Remote } from '../remotes/remote';
import { APP_VERSION, FORMAT_VERSION, names, parseJson, parseUntrusted } from './format';

/**
 * Vault creation and unlocking: the key hierarchy of docs/DESIGN.md.
 *   password --KDF--> KEK --unwraps--> master key --HKDF--> subkeys (chunk-id, metadata, manifest, gear, …)
 *   master key --unwraps--> data-key epochs (random keys; epoch 1 at init)
 * The manifest (`config`) is readable before unlocking (it carries the KDF parameters) and is
 * authenticated after unlocking with an HMAC under the manifest subkey.
 */
export const CODECS = ['none', 'deflate'] as const;
export const DEFAULT_PACK_SIZE = 8 * 1024 * 1024;

const WrappedSchema = z.object({ nonce: z.string(), ciphertext: z.string() });

const ManifestSchema = z.object({
  format: z.number().int(),
  minAppVersion: z.string(),
  vaultId: z.string().regex(/^[0-9a-f]{32}$/),
  createdAt: z.string(),
  kdf: z.unknown(),
  chunker: z.unknown(),
  compression: z.enum(CODECS),
  packSize: z.number().int().min(1024 * 1024).max(256 * 1024 * 1024),
  features: z.array(z.string()),
  mac: z.string().regex(/^[0-9a-f]{64}$/),
});

export interface Manifest {
  format: number;
  minAppVersion: string;
  vaultId: string;
  createdAt: string;
  kdf: KdfParams;
  chunker: CdcParams;
  compression: (typeof CODECS)[number];
  packSize: number;
  features: string[];
  mac: string;
}

/** keys/password. `kdf` is authoritative for this slot (a password change rewrites only this object). */
const PasswordSlotSchema = z.object({ format: z.literal(1), vaultId: z.string(), kdf: z.unknown(), masterKey: WrappedSchema });
/** keys/recovery: the master key wrapped by a key derived from the printed recovery key. */
const RecoverySlotSchema = z.object({ format: z.literal(1), vaultId: z.string(), masterKey: WrappedSchema });
const EpochsSchema = z.object({
  format: z.literal(1),
  vaultId: z.string(),
  current: z.number().int().positive(),
  epochs: z.array(z.object({ epoch: z.number().int().positive(), key: WrappedSchema })),
});

export interface VaultKeys {
  vaultId: string;
  masterKey: Buffer;
  subkeys: Subkeys;
  epochs: Map<number, Buffer>;
  currentEpoch: number;
  gear: Uint32Array;
}

const slotAad = (vaultId: string, kdf: KdfParams) => `ccsync/v1/keyslot/password/${vaultId}/${canonicalJson(kdf)}`;
const epochAad = (vaultId: string, epoch: number) => `ccsync/v1/epoch/${vaultId}/${epoch}`;

function manifestMac(manifestKey: Buffer, m: Omit<Manifest, 'mac'>): string {
  return hmacSha256(manifestKey, Buffer.from(canonicalJson(m))).toString('hex');
}

function toJsonBytes(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v, null, 2) + '\n');
}

export interface CreateVaultOptions {
  kdf: KdfAlg;
  compression?: (typeof CODECS)[number];
  chunker?: CdcParams;
  packSize?: number;
}

/** Writes a new vault to an empty remote. Order: key material first, the manifest last, so a half-created vault has no manifest and is not mistaken for a usable one. */
export async function createVault(remote: Remote, password: string, opts: CreateVaultOptions): Promise<{ manifest: Manifest; keys: VaultKeys }> {
  await remote.create();
  if (await remote.stat(names.manifest)) {
    throw new CcsError('REMOTE_EXISTS', `${remote.description} already holds a vault; use \`ccsync join\` to add this device to it`);
  }
  const vaultId = randomBytes(16).toString('hex');
  const kdf = defaultKdfParams(opts.kdf);
  const masterKey = randomKey();
  const kek = await deriveKek(password, kdf);
  const epochKey = randomKey();
  await remote.put(names.epochs, toJsonBytes({ format: 1, vaultId, current: 1, epochs: [{ epoch: 1, key: wrapKey(masterKey, epochKey, epochAad(vaultId, 1)) }] }));
  await remote.put(names.passwordSlot, toJsonBytes({ format: 1, vaultId, kdf, masterKey: wrapKey(kek, masterKey, slotAad(vaultId, kdf)) }));
  const subkeys = deriveSubkeys(masterKey, vaultId);
  const body: Omit<Manifest, 'mac'> = {
    format: FORMAT_VERSION,
    minAppVersion: APP_VERSION,
    vaultId,
    createdAt: new Date().toISOString(),
    kdf,
    chunker: opts.chunker ?? DEFAULT_CDC,
    compression: opts.compression ?? 'deflate',
    packSize: opts.packSize ?? DEFAULT_PACK_SIZE,
    features: [],
  };
  const manifest: Manifest = { ...body, mac: manifestMac(subkeys.manifest, body) };
  await remote.put(names.manifest, toJsonBytes(manifest), { createOnly: true });
  return { manifest, keys: { vaultId, masterKey, subkeys, epochs: new Map([[1, epochKey]]), currentEpoch: 1, gear: gearTable(subkeys.gear) } };
}

/** Reads and structurally validates the manifest; authenticity is checked once a key is known. */
export async function readManifest(remote: Remote): Promise<Manifest> {
  await remote.check();
  let bytes: Buffer;
  try {
    bytes = await remote.get(names.manifest);
  } catch (e) {
    if (isCcsError(e, 'OBJECT_MISSING')) {
      throw new CcsError('NOT_INITIALIZED', `no vault at ${remote.description} (no manifest); run \`ccsync init\` to create one`);
    }
    throw e;
  }
  const raw = parseUntrusted(ManifestSchema, parseJson(bytes, 'vault manifest'), 'vault manifest');
  if (raw.format > FORMAT_VERSION) {
    throw new CcsError('FORMAT_UNSUPPORTED', `the vault uses format ${raw.format}, newer than this app supports (${FORMAT_VERSION}); upgrade ccsync to ${raw.minAppVersion} or later`);
  }
  return { ...raw, kdf: validateKdfParams(raw.kdf), chunker: validateCdcParams(raw.chunker) } as Manifest;
}

export async function unlockWithPassword(remote: Remote, manifest: Manifest, password: string): Promise<VaultKeys> {
  const slot = parseUntrusted(PasswordSlotSchema, parseJson(await remote.get(names.passwordSlot), 'password key slot'), 'password key slot');
  if (slot.vaultId !== manifest.vaultId) throw new CcsError('OBJECT_CORRUPT', 'the password key slot belongs to another vault');
  const kdf = validateKdfParams(slot.kdf);
  const kek = await deriveKek(password, kdf);
  const masterKey = unwrapKey(kek, slot.masterKey, slotAad(manifest.vaultId, kdf));
  if (!masterKey) throw new CcsError('WRONG_PASSWORD', 'wrong password for this vault');
  return unlockWithMasterKey(remote, manifest, masterKey);
}

/**
 * Password change: a new salt and KEK wrap the same master key, written as one atomic put of the
 * slot. Nothing else changes: instant whatever the vault size, and other devices (which hold the
 * master key in their keychain) keep working without the new password.
 */
export async function changePassword(remote: Remote, manifest: Manifest, current: string, next: string): Promise<void> {
  if (next.length === 0) throw new CcsError('USAGE', 'the new password must not be empty');
  const slot = parseUntrusted(PasswordSlotSchema, parseJson(await remote.get(names.passwordSlot), 'password key slot'), 'password key slot');
  const keys = await unlockWithPassword(remote, manifest, current);
  const kdf = defaultKdfParams(validateKdfParams(slot.kdf).alg);
  const kek = await deriveKek(next, kdf);
  await remote.put(names.passwordSlot, toJsonBytes({ format: 1, vaultId: keys.vaultId, kdf, masterKey: wrapKey(kek, keys.masterKey, slotAad(keys.vaultId, kdf)) }));
}

const recoveryKek = (recoveryKey: Buffer, vaultId: string) => Buffer.from(hkdfSync('sha256', recoveryKey, Buffer.from(vaultId), 'ccsync/v1/recovery-kek', 32));
const recoveryAad = (vaultId: string) => `ccsync/v1/keyslot/recovery/${vaultId}`;

/**
 * Recovery kit: a random 160-bit key (no slow KDF needed at that entropy) wraps the master key in
 * its own slot. A new kit replaces the slot, so an old printout stops working.
 */
export async function createRecoverySlot(remote: Remote, keys: VaultKeys): Promise<Buffer> {
  const recoveryKey = randomBytes(20);
  await remote.put(names.recoverySlot, toJsonBytes({ format: 1, vaultId: keys.vaultId, masterKey: wrapKey(recoveryKek(recoveryKey, keys.vaultId), keys.masterKey, recoveryAad(keys.vaultId)) }));
  return recoveryKey;
}

export async function unlockWithRecoveryKey(remote: Remote, manifest: Manifest, recoveryKey: Buffer): Promise<VaultKeys> {
  let bytes: Buffer;
  try {
    bytes = await remote.get(names.recoverySlot);
  } catch (e) {
    if (isCcsError(e, 'OBJECT_MISSING')) throw new CcsError('WRONG_PASSWORD', 'this vault has no recovery key (none was ever created with `ccsync recovery-kit`)');
    throw e;
  }
  const slot = parseUntrusted(RecoverySlotSchema, parseJson(bytes, 'recovery key slot'), 'recovery key slot');
  const masterKey = unwrapKey(recoveryKek(recoveryKey, manifest.vaultId), slot.masterKey, recoveryAad(manifest.vaultId));
  if (!masterKey) throw new CcsError('WRONG_PASSWORD', 'wrong recovery key for this vault (or it was replaced by a newer recovery kit)');
  return unlockWithMasterKey(remote, manifest, masterKey);
}

export async function unlockWithMasterKey(remote: Remote, manifest: Manifest, masterKey: Buffer): Promise<VaultKeys> {
  const doc = parseUntrusted(EpochsSchema, parseJson(await remote.get(names.epochs), 'key epochs'), 'key epochs');
  if (doc.vaultId !== manifest.vaultId) throw new CcsError('OBJECT_CORRUPT', 'key epochs belong to another vault');
  const epochs = new Map<number, Buffer>();
  for (const e of doc.epochs) {
    const key = unwrapKey(masterKey, e.key, epochAad(manifest.vaultId, e.epoch));
    // Checked before the manifest MAC: a failure here means this master key is not the vault's
    // (a stale keychain entry), while a manifest failure with a good key means tampering.
    if (!key) throw new CcsError('OBJECT_CORRUPT', `data key of epoch ${e.epoch} failed authentication`);
    epochs.set(e.epoch, key);
  }
  const subkeys = deriveSubkeys(masterKey, manifest.vaultId);
  const { mac, ...body } = manifest;
  if (!timingSafeEqualBuf(Buffer.from(manifestMac(subkeys.manifest, body), 'hex'), Buffer.from(mac, 'hex'))) {
    throw new CcsError('OBJECT_CORRUPT', 'the vault manifest failed authentication: it was modified on the remote');
  }
  if (!epochs.has(doc.current)) throw new CcsError('LOCKED', `no key for the current data epoch ${doc.current}`);
  return { vaultId: manifest.vaultId, masterKey, subkeys, epochs, currentEpoch: doc.current, gear: gearTable(subkeys.gear) };
}
