import { join } from 'node:path';
import { CcsError } from '../common/errors';
import { KeychainUnavailableError, OsKeychain, type SecretStore } from '../keychain/keychain';
import { openRemote } from '../remotes/url';
import { WEBDAV_PASSWORD_ENV, WEBDAV_USER_ENV } from '../remotes/webdav/webdavUrl';
import type { Remote } from '../remotes/remote';
import { StateDb } from '../vault/stateDb';
import { readDeviceConfig, type DeviceConfig } from './deviceConfig';
import { readManifest, unlockWithDevice, unlockWithPassword, type Manifest, type VaultKeys } from './vaultKeys';
import { decodeKeychainSecret, unwrapDeviceSeed } from './keyring/deviceSecret';
import { checkEpochPins } from './keyring/pins';
import { ensureDeviceGranted } from './keyring/membership';
import { proveDevice } from './keyOps';

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
  /** Decorates the configured remote (tests: fault injection, counting). */
  wrapRemote?: (remote: Remote) => Remote;
  /** Clock, replaceable in tests (re-authorization after a long absence). */
  now?: () => number;
}

export const remoteCredentialAccount = (canonicalUrl: string) => `remote/${canonicalUrl}`;

/**
 * WebDAV credentials given once at setup live in the OS keychain (never in device.json);
 * CCSYNC_WEBDAV_USER / CCSYNC_WEBDAV_PASSWORD, when set, take precedence.
 */
export async function remoteEnv(config: DeviceConfig, store?: SecretStore): Promise<NodeJS.ProcessEnv> {
  if (!config.remote.startsWith('webdav+') || process.env[WEBDAV_USER_ENV] || config.keyStore === 'none') return process.env;
  try {
    const stored = await (store ?? new OsKeychain()).get(remoteCredentialAccount(config.remote));
    if (!stored) return process.env;
    const { user, password } = JSON.parse(stored) as { user: string; password: string };
    return { ...process.env, [WEBDAV_USER_ENV]: user, [WEBDAV_PASSWORD_ENV]: password };
  } catch {
    return process.env;
  }
}

/** Releases network resources (S3 keep-alive sockets) of a remote and the remotes it wraps. */
export function releaseRemote(remote: Remote): void {
  let r: unknown = remote;
  for (let depth = 0; r && depth < 8; depth++) {
    (r as { destroy?: () => void }).destroy?.();
    r = (r as { inner?: unknown }).inner;
  }
}

export const keychainAccount = (vaultId: string, deviceId: string) => `vault-${vaultId}/device-${deviceId}`;

export async function openSession(home: string, opts: UnlockOptions = {}): Promise<DeviceSession> {
  const config = await readDeviceConfig(home);
  const opened = openRemote(config.remote, { env: await remoteEnv(config, opts.secretStore) });
  const remote = opts.wrapRemote ? opts.wrapRemote(opened) : opened;
  const manifest = await readManifest(remote);
  if (manifest.vaultId !== config.vaultId) {
    throw new CcsError('CONFIG_INVALID', `${remote.description} holds vault ${manifest.vaultId}, but this device belongs to vault ${config.vaultId}`);
  }
  const keys = await unlock(config, remote, manifest, opts);
  const db = StateDb.open(join(home, 'state.db'));
  const session: DeviceSession = {
    home,
    config,
    db,
    remote,
    manifest,
    keys,
    close: () => {
      db.close();
      releaseRemote(remote);
    },
  };
  try {
    checkEpochPins(db, keys.ring);
    await reauthorizeAfterLongAbsence(session, opts.now ?? Date.now);
  } catch (e) {
    session.close();
    throw e;
  }
  return session;
}

/** A device not seen for this long proves possession of its key again before it may sync. */
export const POSSESSION_RECHECK_MS = 30 * 24 * 3_600_000;

async function reauthorizeAfterLongAbsence(s: DeviceSession, now: () => number): Promise<void> {
  const last = Number(s.db.getMeta('possessionVerifiedAt') ?? 0);
  if (now() - last < POSSESSION_RECHECK_MS) return;
  const proof = await proveDevice(s);
  if (!proof.ok) throw new CcsError('LOCKED', `this device could not prove it holds its registered key (${proof.detail}); re-pair it or join again with the password`);
  s.db.setMeta('possessionVerifiedAt', String(now()));
}

async function unlock(config: DeviceConfig, remote: Remote, manifest: Manifest, opts: UnlockOptions): Promise<VaultKeys> {
  if (opts.password !== undefined) {
    const keys = await unlockWithPassword(remote, manifest, opts.password);
    const identity = unwrapDeviceSeed(keys.masterKey, config.vaultId, config.deviceId, config.deviceKey);
    const withId = { ...keys, identity };
    // The password opens the vault, but a revoked device stays revoked: it must join anew.
    await ensureDeviceGranted(remote, withId, config.deviceName);
    return withId;
  }
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
  const secret = decodeKeychainSecret(stored, config.deviceId);
  if (!secret) throw new CcsError('LOCKED', 'the OS keychain entry for this device is damaged or from an older version; give the password with --password-stdin or CCSYNC_PASSWORD');
  return unlockWithDevice(remote, manifest, secret.masterKey, secret.identity);
}
