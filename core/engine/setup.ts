import { access, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { assertCodecAvailable } from '../chunking/compress';
import { CcsError } from '../common/errors';
import type { KdfAlg } from '../crypto/kdf';
import { KeychainUnavailableError, OsKeychain, type SecretStore } from '../keychain/keychain';
import { describeRemoteUrl, openRemote } from '../remotes/url';
import type { Remote } from '../remotes/remote';
import { StateDb } from '../vault/stateDb';
import { writeRootMarker } from '../vault/rootMarker';
import { configPath, writeDeviceConfig, type DeviceConfig } from './deviceConfig';
import { keychainAccount, remoteCredentialAccount } from './session';
import { parseWebDavUrl } from '../remotes/webdav/webdavUrl';
import { encodeKeychainSecret, wrapDeviceSeed } from './keyring/deviceSecret';
import { newIdentity, type DeviceIdentity } from './keyring/identity';
import { randomDeviceId } from './keyring/keyring';
import { ensureDeviceGranted } from './keyring/membership';
import { checkEpochPins } from './keyring/pins';
import { CODECS, createVault, readManifest, unlockWithPassword, unlockWithRecoveryKey, type Manifest, type VaultKeys } from './vaultKeys';

export interface SetupOptions {
  home: string;
  root: string;
  remote: string;
  password: string;
  /** Join with the recovery key instead of the password (restore on a new machine). */
  recoveryKey?: Buffer;
  /** Join with keys received through pairing (core/engine/pairing.ts) instead of the password. */
  paired?: (remote: Remote, manifest: Manifest, identity: DeviceIdentity, deviceName: string) => Promise<VaultKeys>;
  deviceName?: string;
  kdf?: KdfAlg;
  compression?: (typeof CODECS)[number];
  secretStore?: SecretStore;
}

export interface SetupResult {
  config: DeviceConfig;
  /** Set when no keychain could hold the key: the user must give the password on every run. */
  warning?: string;
}

/** `ccsync init`: creates a new vault on the remote and this device's home. */
export async function initDevice(o: SetupOptions): Promise<SetupResult> {
  // Before anything is written: a vault this runtime could not even write chunks to is refused.
  if (o.compression) assertCodecAvailable(o.compression, `cannot create a vault that compresses with ${o.compression}`);
  const root = await prepare(o);
  const remote = openRemote(o.remote);
  const identity = newIdentity(randomDeviceId());
  const name = o.deviceName ?? hostname();
  const { keys } = await createVault(remote, o.password, { kdf: o.kdf ?? 'argon2id', ...(o.compression ? { compression: o.compression } : {}) }, identity, name);
  return finish(o, root, { ...keys, identity }, name);
}

/** `ccsync join`: adds this device to the vault on the remote (password, recovery key or pairing). */
export async function joinDevice(o: SetupOptions): Promise<SetupResult> {
  const root = await prepare(o);
  const remote = openRemote(o.remote);
  const manifest = await readManifest(remote);
  const identity = newIdentity(randomDeviceId());
  const name = o.deviceName ?? hostname();
  const keys = o.paired
    ? await o.paired(remote, manifest, identity, name)
    : o.recoveryKey
      ? await unlockWithRecoveryKey(remote, manifest, o.recoveryKey, identity)
      : await unlockWithPassword(remote, manifest, o.password, identity);
  const withId = { ...keys, identity };
  await ensureDeviceGranted(remote, withId, name);
  return finish(o, root, withId, name);
}

async function prepare(o: SetupOptions): Promise<string> {
  if (await access(configPath(o.home)).then(() => true, () => false)) {
    throw new CcsError('ALREADY_EXISTS', `${o.home} already holds a device; use another --home, or remove it to start over`);
  }
  const root = resolve(o.root);
  const st = await stat(root).catch(() => null);
  if (!st?.isDirectory()) throw new CcsError('ROOT_MISSING', `the sync root ${root} does not exist or is not a directory; create it first`);
  if (o.password.length === 0 && !o.recoveryKey && !o.paired) throw new CcsError('USAGE', 'the password must not be empty');
  return root;
}

async function finish(o: SetupOptions, root: string, keys: VaultKeys & { identity: DeviceIdentity }, deviceName: string): Promise<SetupResult> {
  const deviceId = keys.identity.deviceId;
  const store = o.secretStore ?? new OsKeychain();
  let keyStore: DeviceConfig['keyStore'] = 'os';
  let warning: string | undefined;
  try {
    await store.set(keychainAccount(keys.vaultId, deviceId), encodeKeychainSecret(keys.masterKey, keys.identity));
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
    deviceName,
    vaultId: keys.vaultId,
    root,
    remote: describeRemoteUrl(o.remote),
    keyStore,
    deviceKey: wrapDeviceSeed(keys.masterKey, keys.vaultId, keys.identity),
  };
  await writeDeviceConfig(o.home, config);
  const db = StateDb.open(join(o.home, 'state.db'));
  try {
    checkEpochPins(db, keys.ring);
  } finally {
    db.close();
  }
  await writeRootMarker(root, { vaultId: keys.vaultId, deviceId, files: 0, updatedAt: new Date().toISOString() });
  return warning ? { config, warning } : { config };
}
