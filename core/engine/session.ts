import { join } from 'node:path';
import { CcsError, isCcsError } from '../common/errors';
import { KeychainUnavailableError, OsKeychain, type SecretStore } from '../keychain/keychain';
import { openRemote } from '../remotes/url';
import type { Remote } from '../remotes/remote';
import { StateDb } from '../vault/stateDb';
import { readDeviceConfig, type DeviceConfig } from './deviceConfig';
import { readManifest, unlockWithMasterKey, unlockWithPassword, type Manifest, type VaultKeys } from './vaultKeys';

/** Everything one operation on one device needs: config, local state, remote and unlocked keys. */
export interface DeviceSession {
  home: string;
  config: DeviceConfig;
  db: StateDb;
  remote: Remote;
  manifest: Manifest;
  keys: VaultKeys;
  close(): void;
}

export interface UnlockOptions {
  /** When given, unlock with the password instead of the keychain. */
  password?: string;
  secretStore?: SecretStore;
}

export const keychainAccount = (vaultId: string, deviceId: string) => `vault-${vaultId}/device-${deviceId}`;

export async function openSession(home: string, opts: UnlockOptions = {}): Promise<DeviceSession> {
  const config = await readDeviceConfig(home);
  const remote = openRemote(config.remote);
  const manifest = await readManifest(remote);
  if (manifest.vaultId !== config.vaultId) {
    throw new CcsError('CONFIG_INVALID', `${remote.description} holds vault ${manifest.vaultId}, but this device belongs to vault ${config.vaultId}`);
  }
  const keys = await unlock(config, remote, manifest, opts);
  const db = StateDb.open(join(home, 'state.db'));
  return { home, config, db, remote, manifest, keys, close: () => db.close() };
}

async function unlock(config: DeviceConfig, remote: Remote, manifest: Manifest, opts: UnlockOptions): Promise<VaultKeys> {
  if (opts.password !== undefined) return unlockWithPassword(remote, manifest, opts.password);
  if (config.keyStore === 'none') {
    throw new CcsError('LOCKED', 'this device keeps no key (no OS keychain was available at setup); give the password with --password-stdin or CCSYNC_PASSWORD');
  }
  const store = opts.secretStore ?? new OsKeychain();
  let stored: string | null;
  try {
    stored = await store.get(keychainAccount(config.vaultId, config.deviceId));
  } catch (e) {
    if (e instanceof KeychainUnavailableError) {
      throw new CcsError('LOCKED', `${e.message}; give the password with --password-stdin or CCSYNC_PASSWORD`);
    }
    throw e;
  }
  if (!stored) throw new CcsError('LOCKED', 'the vault key is not in the OS keychain; give the password with --password-stdin or CCSYNC_PASSWORD');
  try {
    return await unlockWithMasterKey(remote, manifest, Buffer.from(stored, 'base64'));
  } catch (e) {
    // A key that no longer opens the manifest is stale (vault recreated at the same place), not corruption of the remote.
    if (isCcsError(e, 'OBJECT_CORRUPT') && /^data key of epoch/.test(e.message)) {
      throw new CcsError('LOCKED', 'the key in the OS keychain does not open this vault; give the password with --password-stdin or CCSYNC_PASSWORD');
    }
    throw e;
  }
}
