import { randomBytes, type KeyObject } from 'node:crypto';
import { CcsError, isCcsError } from '../../common/errors';
import { randomKey, timingSafeEqualBuf, unwrapKey, wrapKey } from '../../crypto/keys';
import type { Remote } from '../../remotes/remote';
import { names, parseJson, parseUntrusted } from '../format';
import {
  docDigest,
  EpochDocSchema,
  epochCheck,
  epochDocSignatureValid,
  grantContext,
  makeRegistration,
  prevAad,
  registrationValid,
  RegistrationSchema,
  rootMacOf,
  signEpochDoc,
  type EpochDoc,
  type Member,
  type Revoked,
} from './epochDoc';
import type { DeviceIdentity } from './identity';
import { openSealed, SealedBoxSchema, sealTo, type SealedBox } from './sealedBox';

/** A device whose signatures this vault accepts (or accepted, up to `revoked.lastSeq`). */
export interface TrustedDevice {
  id: string;
  name: string;
  signPub: Buffer;
  kexPub: Buffer;
  revoked?: Revoked;
}

export interface Keyring {
  epochs: Map<number, Buffer>;
  current: number;
  docs: EpochDoc[];
  /** sha256 of each epoch doc as read, for pinning (a rewritten past epoch is tampering). */
  digests: Map<number, string>;
  devices: Map<string, TrustedDevice>;
}

/** Who is opening the keyring: a device key, or the password/recovery slot's X25519 key. */
export interface SlotOpener {
  slot: string;
  priv: KeyObject;
  pub: Buffer;
  /** For a device: its id, to say "revoked" rather than "no key". */
  deviceId?: string;
  /** A grant carried by the slot itself (password and recovery slots hold the grant of their epoch). */
  embedded?: { epoch: number; box: SealedBox };
}

export const deviceSlot = (deviceId: string) => `device-${deviceId}`;

async function getOrNull(remote: Remote, name: string): Promise<Buffer | null> {
  try {
    return await remote.get(name);
  } catch (e) {
    if (isCcsError(e, 'OBJECT_MISSING')) return null;
    throw e;
  }
}

async function readDocs(remote: Remote, vaultId: string): Promise<{ docs: EpochDoc[]; digests: Map<number, string> }> {
  const objects = (await remote.list(names.epochPrefix)).map((o) => o.name).sort();
  if (objects.length === 0) throw new CcsError('OBJECT_CORRUPT', 'the vault has no key epochs (keys/epoch/…): it is damaged or was created by an older format');
  const docs: EpochDoc[] = [];
  const digests = new Map<number, string>();
  for (const name of objects) {
    const bytes = await remote.get(name);
    const doc = parseUntrusted(EpochDocSchema, parseJson(bytes, name), name);
    if (name !== names.epoch(doc.epoch)) throw new CcsError('OBJECT_CORRUPT', `${name} claims to be epoch ${doc.epoch}`);
    if (doc.vaultId !== vaultId) throw new CcsError('OBJECT_CORRUPT', `${name} belongs to another vault`);
    docs.push(doc);
    digests.set(doc.epoch, docDigest(bytes));
  }
  docs.sort((a, b) => a.epoch - b.epoch);
  docs.forEach((d, i) => {
    if (d.epoch !== i + 1) throw new CcsError('OBJECT_CORRUPT', `key epoch ${i + 1} is missing from the remote (found ${d.epoch})`);
  });
  return { docs, digests };
}

const memberToTrusted = (m: Member): TrustedDevice => ({ id: m.id, name: m.name, signPub: Buffer.from(m.signPub, 'base64'), kexPub: Buffer.from(m.kexPub, 'base64') });

/**
 * Reads and verifies the whole key chain: the latest epoch's key from this opener's grant, older
 * keys through `prev`, every doc's signature by a device trusted at the previous epoch, epoch 1
 * against the master key, and the device registry. Anything inconsistent is OBJECT_CORRUPT naming
 * the object; a device without a grant is REVOKED or LOCKED with what to do.
 */
export async function loadKeyring(remote: Remote, vaultId: string, masterKey: Buffer, opener: SlotOpener): Promise<Keyring> {
  const { docs, digests } = await readDocs(remote, vaultId);
  const latest = docs[docs.length - 1]!;
  const grantName = names.grant(latest.epoch, latest.check, opener.slot);
  const embedded = opener.embedded?.epoch === latest.epoch ? opener.embedded.box : null;
  const grantBytes = embedded ? null : await getOrNull(remote, grantName);
  if (!grantBytes && !embedded) {
    const revoked = opener.deviceId ? latest.revoked.find((r) => r.id === opener.deviceId) : undefined;
    if (revoked) throw new CcsError('REVOKED', `this device was revoked on ${revoked.at} (by device ${revoked.by}); it can no longer read or write this vault. To use this machine again, join it as a new device with the password or a pairing code`);
    throw new CcsError('LOCKED', `this ${opener.deviceId ? 'device' : 'key slot'} holds no key for the vault's current key epoch ${latest.epoch} (rotated by device ${latest.createdBy} at ${latest.createdAt}); re-pair it (\`ccsync pair\` on a trusted device, then \`ccsync join --pair CODE\`) or give the password with --password-stdin`);
  }
  const box = embedded ?? parseUntrusted(SealedBoxSchema, parseJson(grantBytes!, grantName), grantName);
  const key = openSealed(opener.priv, opener.pub, box, grantContext(vaultId, latest.epoch, opener.slot));
  if (!key || key.length !== 32 || !timingSafeEqualBuf(Buffer.from(epochCheck(key, vaultId, latest.epoch), 'hex'), Buffer.from(latest.check, 'hex'))) {
    throw new CcsError('OBJECT_CORRUPT', `${grantName} does not open to the key of epoch ${latest.epoch}: it was modified or replaced on the remote`);
  }
  const epochs = new Map<number, Buffer>([[latest.epoch, key]]);
  for (let i = docs.length - 1; i >= 1; i--) {
    const doc = docs[i]!;
    const older = docs[i - 1]!;
    const prev = doc.prev ? unwrapKey(epochs.get(doc.epoch)!, doc.prev, prevAad(vaultId, older.epoch)) : null;
    if (!prev || epochCheck(prev, vaultId, older.epoch) !== older.check) {
      throw new CcsError('OBJECT_CORRUPT', `${names.epoch(doc.epoch)}: the previous epoch's key does not open or does not match epoch ${older.epoch}`);
    }
    epochs.set(older.epoch, prev);
  }
  const first = docs[0]!;
  if (first.prev !== null || !first.rootMac || rootMacOf(masterKey, first) !== first.rootMac) {
    throw new CcsError('OBJECT_CORRUPT', `${names.epoch(1)} failed authentication against the vault key: it was modified on the remote`);
  }
  const devices = await verifyChain(remote, vaultId, docs, epochs);
  return { epochs, current: latest.epoch, docs, digests, devices };
}

/** Registrations whose MAC and self-signature verify; which epochs count is decided by the caller (verifyChain). */
async function readRegistrations(remote: Remote, vaultId: string, epochs: Map<number, Buffer>): Promise<Array<TrustedDevice & { epoch: number }>> {
  const out: Array<TrustedDevice & { epoch: number }> = [];
  for (const o of await remote.list(names.devicePrefix)) {
    const bytes = await getOrNull(remote, o.name);
    if (!bytes) continue;
    let reg;
    try {
      reg = parseUntrusted(RegistrationSchema, parseJson(bytes, o.name), o.name);
    } catch {
      continue; // a malformed registration grants nothing; it is reported by `ccsync devices`
    }
    const key = epochs.get(reg.epoch);
    if (o.name !== names.device(reg.id) || reg.vaultId !== vaultId || !key || !registrationValid(reg, key)) continue;
    out.push({ id: reg.id, name: reg.name, signPub: Buffer.from(reg.signPub, 'base64'), kexPub: Buffer.from(reg.kexPub, 'base64'), epoch: reg.epoch });
  }
  return out;
}

async function verifyChain(remote: Remote, vaultId: string, docs: EpochDoc[], epochs: Map<number, Buffer>): Promise<Map<string, TrustedDevice>> {
  const registrations = await readRegistrations(remote, vaultId, epochs);
  // A device revoked at epoch R knew every key before R, so it could forge a registration MACed
  // under one of them: only registrations at or after the latest revocation count.
  const revocationAt = (upTo: number) => docs.reduce((acc, d, i) => (d.epoch <= upTo && i > 0 && d.revoked.length > docs[i - 1]!.revoked.length ? d.epoch : acc), 1);
  const known = new Map<string, TrustedDevice>();
  for (let i = 0; i < docs.length; i++) {
    const doc = docs[i]!;
    const prior = docs[i - 1];
    if (prior) {
      for (const r of prior.revoked) {
        if (!doc.revoked.some((x) => x.id === r.id && x.lastSeq === r.lastSeq)) throw new CcsError('OBJECT_CORRUPT', `${names.epoch(doc.epoch)} drops the revocation of device ${r.id}`);
      }
    }
    // Who may sign epoch n: a device trusted and not revoked as of epoch n-1 (epoch 1: its own member).
    const signers = new Map(known);
    if (i === 0) for (const m of doc.members) signers.set(m.id, memberToTrusted(m));
    const floor = revocationAt(doc.epoch - 1);
    for (const r of registrations) if (r.epoch < doc.epoch && r.epoch >= floor && !signers.has(r.id)) signers.set(r.id, r);
    const signer = signers.get(doc.createdBy);
    const revokedBefore = prior?.revoked.some((r) => r.id === doc.createdBy) ?? false;
    if (!signer || revokedBefore || !epochDocSignatureValid(doc, signer.signPub)) {
      throw new CcsError('OBJECT_CORRUPT', `${names.epoch(doc.epoch)} is not signed by a trusted device (signer ${doc.createdBy})`);
    }
    for (const m of doc.members) if (!known.has(m.id)) known.set(m.id, memberToTrusted(m));
  }
  const latest = docs[docs.length - 1]!;
  const floor = revocationAt(latest.epoch);
  for (const { epoch, ...r } of registrations) if (epoch >= floor && !known.has(r.id)) known.set(r.id, r);
  for (const r of latest.revoked) {
    const d = known.get(r.id);
    known.set(r.id, { id: r.id, name: r.name, signPub: Buffer.from(r.signPub, 'base64'), kexPub: d?.kexPub ?? Buffer.alloc(32), revoked: r });
  }
  return known;
}

export interface SlotKeys {
  password?: Buffer;
  recovery?: Buffer;
}

/**
 * Starts epoch n+1: a new random data key sealed to every trusted, non-revoked device and to the
 * password and recovery slots; the previous key wrapped inside it. Grants first, the signed doc
 * last and create-only, so a crash or a race leaves either the old epoch or a complete new one.
 */
export async function createEpoch(
  remote: Remote,
  vaultId: string,
  ring: Keyring,
  identity: DeviceIdentity,
  slots: SlotKeys,
  reason: 'rotate' | 'revoke',
  revoke: Revoked[] = [],
): Promise<{ epoch: number; key: Buffer }> {
  for (const r of revoke) if (!ring.devices.has(r.id)) throw new CcsError('USAGE', `no device ${r.id} in this vault`);
  const latest = ring.docs[ring.docs.length - 1]!;
  const epoch = latest.epoch + 1;
  const key = randomKey();
  const check = epochCheck(key, vaultId, epoch);
  const revoked = [...latest.revoked, ...revoke];
  const members: Member[] = [...ring.devices.values()]
    .filter((d) => !revoked.some((r) => r.id === d.id))
    .map((d) => ({ id: d.id, name: d.name, signPub: d.signPub.toString('base64'), kexPub: d.kexPub.toString('base64') }));
  const grants: Array<[string, Buffer]> = members.map((m) => [deviceSlot(m.id), Buffer.from(m.kexPub, 'base64')]);
  if (slots.password) grants.push(['password', slots.password]);
  if (slots.recovery) grants.push(['recovery', slots.recovery]);
  for (const [slot, pub] of grants) {
    await remote.put(names.grant(epoch, check, slot), Buffer.from(JSON.stringify(sealTo(pub, key, grantContext(vaultId, epoch, slot)))));
  }
  const doc = signEpochDoc(identity, {
    format: 2,
    vaultId,
    epoch,
    createdAt: new Date().toISOString(),
    createdBy: identity.deviceId,
    reason,
    check,
    prev: wrapKey(key, ring.epochs.get(latest.epoch)!, prevAad(vaultId, latest.epoch)),
    members,
    revoked,
  });
  try {
    await remote.put(names.epoch(epoch), Buffer.from(JSON.stringify(doc, null, 2) + '\n'), { createOnly: true });
  } catch (e) {
    if (isCcsError(e, 'ALREADY_EXISTS') || isCcsError(e, 'REMOTE_EXISTS')) {
      throw new CcsError('BUSY', `another device started key epoch ${epoch} at the same time; run the command again`);
    }
    throw e;
  }
  return { epoch, key };
}

/** Epoch 1 of a new vault, created by its first device. */
export async function createFirstEpoch(remote: Remote, vaultId: string, masterKey: Buffer, identity: DeviceIdentity, deviceName: string, passwordPub: Buffer): Promise<Buffer> {
  const key = randomKey();
  const check = epochCheck(key, vaultId, 1);
  const member: Member = { id: identity.deviceId, name: deviceName, signPub: identity.signPub.toString('base64'), kexPub: identity.kexPub.toString('base64') };
  for (const [slot, pub] of [[deviceSlot(identity.deviceId), identity.kexPub], ['password', passwordPub]] as const) {
    await remote.put(names.grant(1, check, slot), Buffer.from(JSON.stringify(sealTo(pub, key, grantContext(vaultId, 1, slot)))));
  }
  const body = { format: 2 as const, vaultId, epoch: 1, createdAt: new Date().toISOString(), createdBy: identity.deviceId, reason: 'init' as const, check, prev: null, members: [member], revoked: [] };
  const doc = signEpochDoc(identity, { ...body, rootMac: rootMacOf(masterKey, body) });
  await remote.put(names.epoch(1), Buffer.from(JSON.stringify(doc, null, 2) + '\n'), { createOnly: true });
  return key;
}

/** Adds a device: a registration MACed under the current epoch key, and its own grant for that epoch. */
export async function registerDevice(remote: Remote, vaultId: string, ring: Keyring, identity: DeviceIdentity, name: string): Promise<void> {
  const latest = ring.docs[ring.docs.length - 1]!;
  const key = ring.epochs.get(latest.epoch)!;
  const slot = deviceSlot(identity.deviceId);
  await remote.put(names.grant(latest.epoch, latest.check, slot), Buffer.from(JSON.stringify(sealTo(identity.kexPub, key, grantContext(vaultId, latest.epoch, slot)))));
  await remote.put(names.device(identity.deviceId), Buffer.from(JSON.stringify(makeRegistration(identity, name, vaultId, latest.epoch, key), null, 2) + '\n'));
  ring.devices.set(identity.deviceId, { id: identity.deviceId, name, signPub: identity.signPub, kexPub: identity.kexPub });
}

/** True when the remote already has an epoch newer than this keyring's (a rotation happened meanwhile). */
export async function newerEpochExists(remote: Remote, ring: Keyring): Promise<boolean> {
  return (await remote.stat(names.epoch(ring.current + 1))) !== null;
}

export const randomDeviceId = () => randomBytes(8).toString('hex');
