import { randomBytes } from 'node:crypto';
import { CcsError, isCcsError } from '../common/errors';
import { names } from './format';
import { createEpoch, deviceSlot } from './keyring/keyring';
import { fingerprint, signFor, verifyFor } from './keyring/identity';
import { readHeads } from './logStore';
import type { DeviceSession } from './session';
import { newStats } from './transferStats';
import { slotPublicKeys } from './vaultKeys';

/**
 * Key operations on an open session (docs/DESIGN.md "What each operation rotates"):
 * - rotate: a new data-key epoch for every member; nothing else changes.
 * - revoke: a new epoch without the device, plus a signed record that refuses its later writes.
 */
export async function rotateDataKey(s: DeviceSession, reason: 'rotate' | 'revoke' = 'rotate', revoke: { id: string; name: string; signPub: string; lastSeq: number }[] = []): Promise<{ epoch: number }> {
  const identity = s.keys.identity;
  if (!identity) throw new CcsError('INTERNAL', 'rotating keys needs the device identity');
  const slots = await slotPublicKeys(s.remote, s.keys.vaultId);
  const at = new Date().toISOString();
  const { epoch } = await createEpoch(s.remote, s.keys.vaultId, s.keys.ring, identity, slots, reason, revoke.map((r) => ({ ...r, at, by: identity.deviceId })));
  return { epoch };
}

export interface RevokeResult {
  device: { id: string; name: string };
  epoch: number;
  /** The revoked device's last log entry that stays valid. */
  lastSeq: number;
}

export async function revokeDevice(s: DeviceSession, deviceId: string): Promise<RevokeResult> {
  const target = s.keys.ring.devices.get(deviceId);
  if (!target) throw new CcsError('USAGE', `no device ${deviceId} in this vault; \`ccsync devices\` lists them`);
  if (deviceId === s.config.deviceId) throw new CcsError('USAGE', 'a device cannot revoke itself; revoke it from another device');
  if (target.revoked) throw new CcsError('USAGE', `device ${target.name} (${deviceId}) was already revoked on ${target.revoked.at}`);
  // Everything it published so far stays valid: the newest of what this device has read and what
  // its (signed) head announces.
  const heads = await readHeads(s.remote, s.keys, newStats());
  const lastSeq = Math.max(s.db.deviceSeq(deviceId), heads.find((h) => h.device === deviceId)?.seq ?? 0);
  const { epoch } = await rotateDataKey(s, 'revoke', [{ id: deviceId, name: target.name, signPub: target.signPub.toString('base64'), lastSeq }]);
  return { device: { id: deviceId, name: target.name }, epoch, lastSeq };
}

export interface DeviceInfo {
  id: string;
  name: string;
  /** Fingerprint of the device's Ed25519 signing key, for comparing across screens. */
  fingerprint: string;
  status: 'active' | 'revoked' | 'no-key';
  thisDevice: boolean;
  /** The last log entry this device has read from it. */
  lastSeq: number;
  revokedAt?: string;
  revokedBy?: string;
}

export async function listDevices(s: DeviceSession): Promise<{ epoch: number; devices: DeviceInfo[] }> {
  const latest = s.keys.ring.docs[s.keys.ring.docs.length - 1]!;
  const seqs = new Map(s.db.devices().map((d) => [d.id, d.seq]));
  const devices: DeviceInfo[] = [];
  for (const d of s.keys.ring.devices.values()) {
    const granted = d.revoked ? false : (await s.remote.stat(names.grant(latest.epoch, latest.check, deviceSlot(d.id)))) !== null;
    devices.push({
      id: d.id,
      name: d.name,
      fingerprint: fingerprint(d.signPub),
      status: d.revoked ? 'revoked' : granted ? 'active' : 'no-key',
      thisDevice: d.id === s.config.deviceId,
      lastSeq: seqs.get(d.id) ?? 0,
      ...(d.revoked ? { revokedAt: d.revoked.at, revokedBy: d.revoked.by } : {}),
    });
  }
  devices.sort((a, b) => Number(b.thisDevice) - Number(a.thisDevice) || a.name.localeCompare(b.name));
  return { epoch: latest.epoch, devices };
}

export interface PossessionProof {
  device: string;
  ok: boolean;
  fingerprint: string;
  challenge: string;
  detail: string;
}

/**
 * Proof of possession: a fresh random challenge, bound to the vault and the device, signed with
 * the device's Ed25519 key and verified against the public key the key chain registered for it
 * (not against a key the device supplies). It proves this machine holds the private key the
 * vault trusts for that device id, without revealing it; it proves nothing about the password.
 */
export async function proveDevice(s: DeviceSession): Promise<PossessionProof> {
  const identity = s.keys.identity;
  if (!identity) throw new CcsError('INTERNAL', 'proof of possession needs the device identity');
  const registered = s.keys.ring.devices.get(identity.deviceId);
  const challenge = randomBytes(32).toString('base64');
  const message = Buffer.from(`${s.keys.vaultId}\0${identity.deviceId}\0${challenge}`);
  if (!registered) return { device: identity.deviceId, ok: false, fingerprint: fingerprint(identity.signPub), challenge, detail: 'this device is not registered in the vault' };
  if (registered.revoked) return { device: identity.deviceId, ok: false, fingerprint: fingerprint(registered.signPub), challenge, detail: `this device was revoked on ${registered.revoked.at}` };
  const signature = signFor(identity, 'possession', message);
  const ok = verifyFor(registered.signPub, 'possession', message, signature);
  // The grant check proves the X25519 key too: only its holder opened the current epoch's key.
  let grantOk = true;
  try {
    const latest = s.keys.ring.docs[s.keys.ring.docs.length - 1]!;
    grantOk = (await s.remote.stat(names.grant(latest.epoch, latest.check, deviceSlot(identity.deviceId)))) !== null;
  } catch (e) {
    if (!isCcsError(e)) throw e;
    grantOk = false;
  }
  return {
    device: identity.deviceId,
    ok: ok && grantOk,
    fingerprint: fingerprint(registered.signPub),
    challenge,
    detail: ok ? (grantOk ? 'signature verified against the registered key; this device holds the current data key' : 'signature verified, but this device holds no grant for the current epoch') : 'the signature does not verify against the registered key: this device.json or keychain entry does not belong to the registered device',
  };
}
