import { hkdfSync } from 'node:crypto';
import { z } from 'zod';
import { CcsError } from '../../common/errors';
import { decodeBase64Strict } from '../../crypto/base64';
import { unwrapKey, wrapKey, type WrappedKey } from '../../crypto/keys';
import { identityFromSeed, type DeviceIdentity } from './identity';

/**
 * What a device keeps in the OS keychain: the vault's master key and its identity seed, as one
 * JSON secret. The seed is also kept wrapped under the master key in device.json, so a password
 * alone (no keychain) recovers the same identity.
 */
const KeychainSecretSchema = z.object({ v: z.literal(2), masterKey: z.string(), seed: z.string() });

export function encodeKeychainSecret(masterKey: Buffer, identity: DeviceIdentity): string {
  return JSON.stringify({ v: 2, masterKey: masterKey.toString('base64'), seed: identity.seed.toString('base64') });
}

export function decodeKeychainSecret(secret: string, deviceId: string): { masterKey: Buffer; identity: DeviceIdentity } | null {
  let raw: unknown;
  try {
    raw = JSON.parse(secret);
  } catch {
    return null;
  }
  const r = KeychainSecretSchema.safeParse(raw);
  if (!r.success) return null;
  const masterKey = decodeBase64Strict(r.data.masterKey);
  const seed = decodeBase64Strict(r.data.seed);
  if (masterKey?.length !== 32 || seed?.length !== 32) return null;
  return { masterKey, identity: identityFromSeed(deviceId, seed) };
}

const seedKek = (masterKey: Buffer, vaultId: string, deviceId: string) => Buffer.from(hkdfSync('sha256', masterKey, Buffer.from(vaultId), Buffer.from(`ccsync/v2/device-seed/${deviceId}`), 32));

export function wrapDeviceSeed(masterKey: Buffer, vaultId: string, identity: DeviceIdentity): WrappedKey {
  return wrapKey(seedKek(masterKey, vaultId, identity.deviceId), identity.seed, `ccsync/v2/device-seed/${vaultId}/${identity.deviceId}`);
}

export function unwrapDeviceSeed(masterKey: Buffer, vaultId: string, deviceId: string, wrapped: WrappedKey): DeviceIdentity {
  const seed = unwrapKey(seedKek(masterKey, vaultId, deviceId), wrapped, `ccsync/v2/device-seed/${vaultId}/${deviceId}`);
  if (!seed) throw new CcsError('CONFIG_INVALID', 'the device key in device.json does not open with this vault key (device.json was copied from another device or damaged); join this machine again');
  return identityFromSeed(deviceId, seed);
}
