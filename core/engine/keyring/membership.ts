import { CcsError } from '../../common/errors';
import type { Remote } from '../../remotes/remote';
import { names } from '../format';
import type { VaultKeys } from '../vaultKeys';
import { deviceSlot, registerDevice } from './keyring';

/**
 * After unlocking with the password (or a recovery key or a pairing), make sure this device is a
 * registered member holding its own grant of the current epoch, so later runs need nothing typed.
 */
export async function ensureDeviceGranted(remote: Remote, keys: VaultKeys, deviceName: string): Promise<void> {
  const identity = keys.identity;
  if (!identity) throw new CcsError('INTERNAL', 'ensureDeviceGranted needs the device identity');
  const known = keys.ring.devices.get(identity.deviceId);
  if (known?.revoked) {
    throw new CcsError('REVOKED', `this device was revoked on ${known.revoked.at} (by device ${known.revoked.by}); even with the password it cannot rejoin under the same identity. Join this machine as a new device (\`ccsync join\` with a new --home)`);
  }
  if (known && !known.signPub.equals(identity.signPub)) {
    throw new CcsError('CONFIG_INVALID', `device id ${identity.deviceId} is registered with a different key; this device.json does not belong to it`);
  }
  const latest = keys.ring.docs[keys.ring.docs.length - 1]!;
  const granted = known && (await remote.stat(names.grant(latest.epoch, latest.check, deviceSlot(identity.deviceId)))) !== null;
  if (!granted) await registerDevice(remote, keys.vaultId, keys.ring, identity, deviceName);
}
