import { createPublicKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../common/canonicalJson';
import { CcsError, isCcsError } from '../common/errors';
import { DEFAULT_CDC, validateCdcParams, type CdcParams } from '../chunking/fastcdc';
import { gearTable } from '../chunking/gear';
import { x25519PrivateFromRaw } from '../crypto/deviceKeys';
import { deriveKek, defaultKdfParams, validateKdfParams, type KdfAlg, type KdfParams } from '../crypto/kdf';
import { deriveSubkeys, hmacSha256, randomKey, timingSafeEqualBuf, unwrapKey, wrapKey, type Subkeys } from '../crypto/keys';
import type { Remote } from '../remotes/remote';
import { APP_VERSION, FORMAT_VERSION, names, parseJson, parseUntrusted } from './format';
import { grantContext, WrappedSchema } from './keyring/epochDoc';
import type { DeviceIdentity } from './keyring/identity';
import { createFirstEpoch, deviceSlot, loadKeyring, type Keyring, type SlotOpener } from './keyring/keyring';
import { SealedBoxSchema, sealTo } from './keyring/sealedBox';

/**
 * Vault creation and unlocking: the key hierarchy of docs/DESIGN.md "Key hierarchy".
 *   password --KDF--> KEK --unwraps--> master key M and the password slot's X25519 key
 *   M --HKDF--> subkeys that must stay stable for the vault's life (chunk ids, gear, manifest MAC)
 *   data-key epochs E_n: random, sealed to each device's X25519 key and to the slot keys;
 *   E_n wraps E_{n-1}, so the newest key opens everything older.
 * The manifest (`config`) is readable before unlocking (it carries the KDF parameters) and is
 * authenticated after unlocking with an HMAC under the manifest subkey.
 */
export const CODECS = ['none', 'deflate', 'brotli', 'zstd'] as const;
export const DEFAULT_PACK_SIZE = 8 * 1024 * 1024;

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

/**
 * keys/password and keys/recovery. The secret wraps M and the slot's own X25519 key; the slot
 * carries the grant of the epoch current when it was written, so a password change (new KEK, new
 * slot key, new grant) is one atomic put. Later epochs are granted in keys/grant/<n>/<slot>.
 */
const SlotSchema = z.object({
  format: z.literal(2),
  vaultId: z.string(),
  kdf: z.unknown().optional(),
  masterKey: WrappedSchema,
  slotKey: WrappedSchema,
  slotPub: z.string().regex(/^[A-Za-z0-9+/]{43}=$/),
  grant: z.object({ epoch: z.number().int().positive(), box: SealedBoxSchema }),
});
type Slot = z.infer<typeof SlotSchema>;

export interface VaultKeys {
  vaultId: string;
  masterKey: Buffer;
  subkeys: Subkeys;
  epochs: Map<number, Buffer>;
  currentEpoch: number;
  gear: Uint32Array;
  ring: Keyring;
  /** This device's signing identity; absent only while a device is being set up. */
  identity?: DeviceIdentity;
}

const slotAad = (vaultId: string, slot: string, what: string, kdf?: KdfParams) => `ccsync/v2/keyslot/${slot}/${what}/${vaultId}${kdf ? `/${canonicalJson(kdf)}` : ''}`;

function manifestMac(manifestKey: Buffer, m: Omit<Manifest, 'mac'>): string {
  return hmacSha256(manifestKey, Buffer.from(canonicalJson(m))).toString('hex');
}

function toJsonBytes(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v, null, 2) + '\n');
}

const pubOf = (priv: KeyObject) => createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(12);

/** A slot for `slot` ('password' | 'recovery') whose secret-derived KEK wraps M and a fresh slot key. */
function makeSlot(slot: string, kek: Buffer, keys: { vaultId: string; masterKey: Buffer; currentEpoch: number; epochKey: Buffer }, kdf?: KdfParams): { doc: Slot; pub: Buffer } {
  const raw = randomBytes(32);
  const pub = pubOf(x25519PrivateFromRaw(raw));
  const doc: Slot = {
    format: 2,
    vaultId: keys.vaultId,
    ...(kdf ? { kdf } : {}),
    masterKey: wrapKey(kek, keys.masterKey, slotAad(keys.vaultId, slot, 'master', kdf)),
    slotKey: wrapKey(kek, raw, slotAad(keys.vaultId, slot, 'slot-key', kdf)),
    slotPub: pub.toString('base64'),
    grant: { epoch: keys.currentEpoch, box: sealTo(pub, keys.epochKey, grantContext(keys.vaultId, keys.currentEpoch, slot)) },
  };
  raw.fill(0);
  return { doc, pub };
}

async function readSlot(remote: Remote, name: string, what: string, vaultId: string): Promise<Slot | null> {
  let bytes: Buffer;
  try {
    bytes = await remote.get(name);
  } catch (e) {
    if (isCcsError(e, 'OBJECT_MISSING')) return null;
    throw e;
  }
  const slot = parseUntrusted(SlotSchema, parseJson(bytes, what), what);
  if (slot.vaultId !== vaultId) throw new CcsError('OBJECT_CORRUPT', `the ${what} belongs to another vault`);
  return slot;
}

/** Opens a slot with its KEK: M and an opener for the keyring, or null for a wrong secret. */
function openSlot(slot: Slot, slotName: string, kek: Buffer, vaultId: string, kdf?: KdfParams): { masterKey: Buffer; opener: SlotOpener } | null {
  const masterKey = unwrapKey(kek, slot.masterKey, slotAad(vaultId, slotName, 'master', kdf));
  const raw = masterKey ? unwrapKey(kek, slot.slotKey, slotAad(vaultId, slotName, 'slot-key', kdf)) : null;
  if (!masterKey || !raw) return null;
  const priv = x25519PrivateFromRaw(raw);
  raw.fill(0);
  const pub = Buffer.from(slot.slotPub, 'base64');
  if (!pubOf(priv).equals(pub)) throw new CcsError('OBJECT_CORRUPT', `the ${slotName} key slot's public key does not match its secret key`);
  return { masterKey, opener: { slot: slotName, priv, pub, embedded: slot.grant } };
}

export interface CreateVaultOptions {
  kdf: KdfAlg;
  compression?: (typeof CODECS)[number];
  chunker?: CdcParams;
  packSize?: number;
}

/**
 * Writes a new vault to an empty remote. Order: key material first, the manifest last, so a
 * half-created vault has no manifest and is not mistaken for a usable one.
 */
export async function createVault(remote: Remote, password: string, opts: CreateVaultOptions, identity: DeviceIdentity, deviceName: string): Promise<{ manifest: Manifest; keys: VaultKeys }> {
  await remote.create();
  if (await remote.stat(names.manifest)) {
    throw new CcsError('REMOTE_EXISTS', `${remote.description} already holds a vault; use \`ccsync join\` to add this device to it`);
  }
  const vaultId = randomBytes(16).toString('hex');
  const kdf = defaultKdfParams(opts.kdf);
  const masterKey = randomKey();
  const kek = await deriveKek(password, kdf);
  // The slot is written after epoch 1 exists but the slot's key must be known first: make it, then grant.
  const placeholder = randomKey();
  const { doc: slot0, pub } = makeSlot('password', kek, { vaultId, masterKey, currentEpoch: 1, epochKey: placeholder }, kdf);
  const epochKey = await createFirstEpoch(remote, vaultId, masterKey, identity, deviceName, pub);
  const slot: Slot = { ...slot0, grant: { epoch: 1, box: sealTo(pub, epochKey, grantContext(vaultId, 1, 'password')) } };
  await remote.put(names.passwordSlot, toJsonBytes(slot));
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
    features: ['signed-logs', 'key-epochs-v2'],
  };
  const manifest: Manifest = { ...body, mac: manifestMac(subkeys.manifest, body) };
  await remote.put(names.manifest, toJsonBytes(manifest), { createOnly: true });
  const ring = await loadKeyring(remote, vaultId, masterKey, { slot: deviceSlot(identity.deviceId), priv: identity.kexPriv, pub: identity.kexPub, deviceId: identity.deviceId });
  return { manifest, keys: assemble(manifest, masterKey, ring, identity) };
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
  if (raw.format < FORMAT_VERSION) {
    throw new CcsError('FORMAT_UNSUPPORTED', `the vault uses pre-release format ${raw.format}, which had no device signatures or key epochs; create a new vault with \`ccsync init\``);
  }
  return { ...raw, kdf: validateKdfParams(raw.kdf), chunker: validateCdcParams(raw.chunker) } as Manifest;
}

export async function unlockWithPassword(remote: Remote, manifest: Manifest, password: string, identity?: DeviceIdentity): Promise<VaultKeys> {
  const slot = await readSlot(remote, names.passwordSlot, 'password key slot', manifest.vaultId);
  if (!slot) throw new CcsError('OBJECT_CORRUPT', 'the vault has no password key slot (keys/password is missing)');
  const kdf = validateKdfParams(slot.kdf);
  const opened = openSlot(slot, 'password', await deriveKek(password, kdf), manifest.vaultId, kdf);
  if (!opened) throw new CcsError('WRONG_PASSWORD', 'wrong password for this vault');
  return unlockWith(remote, manifest, opened.masterKey, opened.opener, identity);
}

/** Unlocks with this device's own grant (the everyday path: nothing to type). */
export async function unlockWithDevice(remote: Remote, manifest: Manifest, masterKey: Buffer, identity: DeviceIdentity): Promise<VaultKeys> {
  return unlockWith(remote, manifest, masterKey, { slot: deviceSlot(identity.deviceId), priv: identity.kexPriv, pub: identity.kexPub, deviceId: identity.deviceId }, identity);
}

async function unlockWith(remote: Remote, manifest: Manifest, masterKey: Buffer, opener: SlotOpener, identity?: DeviceIdentity): Promise<VaultKeys> {
  // The key chain first: epoch 1 is authenticated by the master key, so once it verifies, a
  // manifest that fails its MAC was modified on the remote (not opened with a wrong key).
  const ring = await loadKeyring(remote, manifest.vaultId, masterKey, opener);
  const subkeys = deriveSubkeys(masterKey, manifest.vaultId);
  const { mac, ...body } = manifest;
  if (!timingSafeEqualBuf(Buffer.from(manifestMac(subkeys.manifest, body), 'hex'), Buffer.from(mac, 'hex'))) {
    throw new CcsError('OBJECT_CORRUPT', 'the vault manifest failed authentication: it was modified on the remote');
  }
  return assemble(manifest, masterKey, ring, identity);
}

function assemble(manifest: Manifest, masterKey: Buffer, ring: Keyring, identity?: DeviceIdentity): VaultKeys {
  const subkeys = deriveSubkeys(masterKey, manifest.vaultId);
  return { vaultId: manifest.vaultId, masterKey, subkeys, epochs: ring.epochs, currentEpoch: ring.current, gear: gearTable(subkeys.gear), ring, ...(identity ? { identity } : {}) };
}

/**
 * Password change: a new salt, KEK and slot key wrap the same master key, with a fresh grant of
 * the current epoch, in one atomic put of the slot. Nothing else changes: instant whatever the
 * vault size, and other devices (which open their own grants) never notice.
 */
export async function changePassword(remote: Remote, manifest: Manifest, current: string, next: string, keys: VaultKeys): Promise<void> {
  if (next.length === 0) throw new CcsError('USAGE', 'the new password must not be empty');
  const slot = await readSlot(remote, names.passwordSlot, 'password key slot', manifest.vaultId);
  if (!slot) throw new CcsError('OBJECT_CORRUPT', 'the vault has no password key slot (keys/password is missing)');
  const oldKdf = validateKdfParams(slot.kdf);
  if (!openSlot(slot, 'password', await deriveKek(current, oldKdf), manifest.vaultId, oldKdf)) throw new CcsError('WRONG_PASSWORD', 'the current password is wrong');
  const kdf = defaultKdfParams(oldKdf.alg);
  const kek = await deriveKek(next, kdf);
  const { doc } = makeSlot('password', kek, { vaultId: keys.vaultId, masterKey: keys.masterKey, currentEpoch: keys.currentEpoch, epochKey: keys.epochs.get(keys.currentEpoch)! }, kdf);
  await remote.put(names.passwordSlot, toJsonBytes(doc));
}

const recoveryKek = (recoveryKey: Buffer, vaultId: string) => Buffer.from(hkdfSync('sha256', recoveryKey, Buffer.from(vaultId), 'ccsync/v2/recovery-kek', 32));

/**
 * Recovery kit: a random 160-bit key (no slow KDF needed at that entropy) opens its own slot.
 * A new kit replaces the slot, so an old printout stops working.
 */
export async function createRecoverySlot(remote: Remote, keys: VaultKeys): Promise<Buffer> {
  const recoveryKey = randomBytes(20);
  const { doc } = makeSlot('recovery', recoveryKek(recoveryKey, keys.vaultId), { vaultId: keys.vaultId, masterKey: keys.masterKey, currentEpoch: keys.currentEpoch, epochKey: keys.epochs.get(keys.currentEpoch)! });
  await remote.put(names.recoverySlot, toJsonBytes(doc));
  return recoveryKey;
}

export async function unlockWithRecoveryKey(remote: Remote, manifest: Manifest, recoveryKey: Buffer, identity?: DeviceIdentity): Promise<VaultKeys> {
  const slot = await readSlot(remote, names.recoverySlot, 'recovery key slot', manifest.vaultId);
  if (!slot) throw new CcsError('WRONG_PASSWORD', 'this vault has no recovery key (none was ever created with `ccsync recovery-kit`)');
  const opened = openSlot(slot, 'recovery', recoveryKek(recoveryKey, manifest.vaultId), manifest.vaultId);
  if (!opened) throw new CcsError('WRONG_PASSWORD', 'wrong recovery key for this vault (or it was replaced by a newer recovery kit)');
  return unlockWith(remote, manifest, opened.masterKey, opened.opener, identity);
}

/** Public keys of the password and recovery slots, which every new epoch is granted to. */
export async function slotPublicKeys(remote: Remote, vaultId: string): Promise<{ password?: Buffer; recovery?: Buffer }> {
  const pw = await readSlot(remote, names.passwordSlot, 'password key slot', vaultId);
  const rc = await readSlot(remote, names.recoverySlot, 'recovery key slot', vaultId);
  return { ...(pw ? { password: Buffer.from(pw.slotPub, 'base64') } : {}), ...(rc ? { recovery: Buffer.from(rc.slotPub, 'base64') } : {}) };
}

/** Unlocks with M and the current epoch key received through pairing. */
export async function unlockWithPairedKeys(remote: Remote, manifest: Manifest, masterKey: Buffer, epoch: number, epochKey: Buffer, identity: DeviceIdentity): Promise<VaultKeys> {
  // A one-off opener whose "grant" is the key itself, checked against the epoch doc like any grant.
  const raw = randomBytes(32);
  const priv = x25519PrivateFromRaw(raw);
  const pub = pubOf(priv);
  const opener: SlotOpener = { slot: 'paired', priv, pub, embedded: { epoch, box: sealTo(pub, epochKey, grantContext(manifest.vaultId, epoch, 'paired')) } };
  return unlockWith(remote, manifest, masterKey, opener, identity);
}
