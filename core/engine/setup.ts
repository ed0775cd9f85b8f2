import { randomBytes } from 'node:crypto';
import { access, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { CcsError } from '../common/errors';
import type { KdfAlg } from '../crypto/kdf';
import { KeychainUnavailableError, OsKeychain, type SecretStore } from '../keychain/keychain';
import { describeRemoteUrl, openRemote } from '../remotes/url';
import { StateDb } from '../vault/stateDb';
import { writeRootMarker } from '../vault/rootMarker';
import { configPath, writeDeviceConfig, type DeviceConfig } from './deviceConfig';
import { keychainAccount, remoteCredentialAccount } from './session';
import { parseWebDavUrl } from '../remotes/webdav/webdavUrl';
import { createVault, readManifest, unlockWithPassword, unlockWithRecoveryKey, type VaultKeys } from './vaultKeys';


export interface SetupOptions {
  home: string;
  root: string;
  remote: string;
  password: string;
  /** Join with the recovery key instead of the password (restore on a new machine). */
  recoveryKey?: Buffer;
  deviceName?: string;
  kdf?: KdfAlg;
  secretStore?: SecretStore;
}

export interface SetupResult {
  config: DeviceConfig;
  /** Set when no keychain could hold the key: the user must give the password on every run. */
  warning?: string;
}

/** `ccsync init`: creates a new vault on the remote and this device's home. */
export async function initDevice(o: SetupOptions): Promise<SetupResult> {
  const root = await prepare(o);
  const remote = openRemote(o.remote);
  const { keys } = await createVault(remote, o.password, { kdf: o.kdf ?? 'argon2id' });
  return finish(o, root, keys);
}

/** `ccsync join`: adds this device to the vault on the remote. */
export async function joinDevice(o: SetupOptions): Promise<SetupResult> {
  const root = await prepare(o);
  const remote = openRemote(o.remote);
  const manifest = await readManifest(remote);
  const keys = o.recoveryKey ? await unlockWithRecoveryKey(remote, manifest, o.recoveryKey) : await unlockWithPassword(remote, manifest, o.password);
  return finish(o, root, keys);
}

async function prepare(o: SetupOptions): Promise<string> {
  if (await access(configPath(o.home)).then(() => true, () => false)) {
    throw new CcsError('ALREADY_EXISTS', `${o.home} already holds a device; use another --home, or remove it to start over`);
  }
  const root = resolve(o.root);
  const st = await stat(root).catch(() => null);
  if (!st?.isDirectory()) throw new CcsError('ROOT_MISSING', `the sync root ${root} does not exist or is not a directory; create it first`);
  if (o.password.length === 0 && !o.recoveryKey) throw new CcsError('USAGE', 'the password must not be empty');
  return root;
}

async function finish(o: SetupOptions, root: string, keys: VaultKeys): Promise<SetupResult> {
  const deviceId = randomBytes(8).toString('hex');
  const store = o.secretStore ?? new OsKeychain();
  let keyStore: DeviceConfig['keyStore'] = 'os';
  let warning: string | undefined;
  try {
    await store.set(keychainAccount(keys.vaultId, deviceId), keys.masterKey.toString('base64'));
  } catch (e) {
    if (!(e instanceof KeychainUnavailableError)) throw e;
    keyStore = 'none';
    warning = `${e.message}; the key is not stored, so give the password (--password-stdin or CCSYNC_PASSWORD) on every run`;
  }
  const webdav = o.remote.startsWith('webdav+') ? parseWebDavUrl(o.remote, {}) : null;
  if (webdav?.user !== undefined && keyStore === 'os') {
    await store.set(remoteCredentialAccount(describeRemoteUrl(o.remote)), JSON.stringify({ user: webdav.user, password: webdav.password ?? '' }));
  }
  const config: DeviceConfig = {
    format: 1,
    deviceId,
    deviceName: o.deviceName ?? hostname(),
    vaultId: keys.vaultId,
    root,
    remote: describeRemoteUrl(o.remote),
    keyStore,
  };
  await writeDeviceConfig(o.home, config);
  StateDb.open(join(o.home, 'state.db')).close();
  await writeRootMarker(root, { vaultId: keys.vaultId, deviceId, files: 0, updatedAt: new Date().toISOString() });
  return warning ? { config, warning } : { config };
}
