import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { canonicalJson } from '../common/canonicalJson';
import { CcsError, isCcsError } from '../common/errors';
import { decryptObject, encryptObject } from '../crypto/stream';
import type { Remote } from '../remotes/remote';
import { HeadSchema, LogEntrySchema, names, parseJson, parseUntrusted, type Head, type LogEntry, type UnsignedHead, type UnsignedLogEntry } from './format';
import { signFor, verifyFor } from './keyring/identity';
import type { TransferStats } from './transferStats';
import type { VaultKeys } from './vaultKeys';

/**
 * Per-device append-only metadata logs. Each device writes only `log/<its id>/…` and
 * `head/<its id>`, so no two devices ever write the same object and plain folders, WebDAV and S3
 * need no locking. Metadata is deflated, then encrypted with the current epoch key; the object
 * name is bound into the ciphertext, so an entry cannot be replayed under another name.
 *
 * Every entry and head is signed by its device's Ed25519 key. Readers accept only entries signed
 * by a device the key chain trusts, and from a revoked device only those up to its revocation
 * point: holding an epoch key is not enough to write into the vault.
 */
const MAX_METADATA_BYTES = 256 * 1024 * 1024;

function seal(keys: VaultKeys, name: string, value: unknown): Buffer {
  const plain = deflateRawSync(Buffer.from(JSON.stringify(value)), { level: 1 });
  return encryptObject(plain, name, keys.currentEpoch, keys.epochs.get(keys.currentEpoch)!);
}

function open(keys: VaultKeys, name: string, data: Buffer): unknown {
  const plain = decryptObject(data, name, (e) => keys.epochs.get(e));
  let json: Buffer;
  try {
    json = inflateRawSync(plain, { maxOutputLength: MAX_METADATA_BYTES });
  } catch {
    throw new CcsError('OBJECT_CORRUPT', `${name} does not decompress`);
  }
  return parseJson(json, name);
}

function sign<T extends object>(keys: VaultKeys, purpose: string, body: T): T & { sig: string } {
  if (!keys.identity) throw new CcsError('INTERNAL', 'writing metadata needs the device identity');
  return { ...body, sig: signFor(keys.identity, purpose, Buffer.from(canonicalJson(body))) };
}

/** Throws UNTRUSTED unless `device` is trusted, the signature holds, and (if revoked) seq is before its revocation. */
function checkSigned(keys: VaultKeys, purpose: string, name: string, device: string, seq: number, signed: { sig: string }): void {
  const trusted = keys.ring.devices.get(device);
  if (!trusted) throw new CcsError('UNTRUSTED', `${name} was written by device ${device}, which is not a member of this vault: refused`);
  const { sig, ...body } = signed;
  if (!verifyFor(trusted.signPub, purpose, Buffer.from(canonicalJson(body)), sig)) {
    throw new CcsError('UNTRUSTED', `${name} does not carry a valid signature of device ${trusted.name} (${device}): refused`);
  }
  if (trusted.revoked && seq > trusted.revoked.lastSeq) {
    throw new CcsError('UNTRUSTED', `${name} was written by device ${trusted.name} (${device}) after it was revoked on ${trusted.revoked.at}: refused`);
  }
}

export async function writeLogEntry(remote: Remote, keys: VaultKeys, entry: UnsignedLogEntry, stats: TransferStats): Promise<void> {
  const name = names.log(entry.device, entry.seq);
  const data = seal(keys, name, sign(keys, 'log', entry));
  await remote.put(name, data, { createOnly: true });
  stats.bytesUploaded += data.length;
}

export async function writeHead(remote: Remote, keys: VaultKeys, head: UnsignedHead, stats: TransferStats): Promise<void> {
  const name = names.head(head.device);
  const data = seal(keys, name, sign(keys, 'head', head));
  await remote.put(name, data);
  stats.bytesUploaded += data.length;
}

export async function readLogEntry(remote: Remote, keys: VaultKeys, device: string, seq: number, stats: TransferStats): Promise<LogEntry> {
  const name = names.log(device, seq);
  const data = await remote.get(name);
  stats.bytesDownloaded += data.length;
  const entry = parseUntrusted(LogEntrySchema, open(keys, name, data), name);
  if (entry.device !== device || entry.seq !== seq) {
    throw new CcsError('OBJECT_CORRUPT', `${name} claims to be entry ${entry.seq} of device ${entry.device}`);
  }
  checkSigned(keys, 'log', name, device, seq, entry);
  for (const v of entry.versions) {
    if (v.device !== device) throw new CcsError('OBJECT_CORRUPT', `${name} carries a version of another device (${v.device})`);
  }
  return entry;
}

/** Returns null when the entry does not exist (used to find entries written just before a crash). */
export async function tryReadLogEntry(remote: Remote, keys: VaultKeys, device: string, seq: number, stats: TransferStats): Promise<LogEntry | null> {
  try {
    return await readLogEntry(remote, keys, device, seq, stats);
  } catch (e) {
    if (isCcsError(e, 'OBJECT_MISSING')) return null;
    throw e;
  }
}

export interface HeadsRead {
  heads: Head[];
  /** Heads refused (unknown device, bad signature), with the reason. */
  refused: Array<{ device: string; message: string }>;
}

/** Heads of every device; a revoked device's head is capped at its revocation point. */
export async function readHeads(remote: Remote, keys: VaultKeys, stats: TransferStats, refused: HeadsRead['refused'] = []): Promise<Head[]> {
  const objects = await remote.list(names.headPrefix);
  const heads: Head[] = [];
  for (const o of objects) {
    const device = o.name.slice(names.headPrefix.length);
    const data = await remote.get(o.name);
    stats.bytesDownloaded += data.length;
    const head = parseUntrusted(HeadSchema, open(keys, o.name, data), o.name);
    if (head.device !== device) throw new CcsError('OBJECT_CORRUPT', `${o.name} names device ${head.device}`);
    try {
      checkSigned(keys, 'head', o.name, device, 0, head);
    } catch (e) {
      if (!isCcsError(e, 'UNTRUSTED')) throw e;
      refused.push({ device, message: e.message });
      continue;
    }
    const revoked = keys.ring.devices.get(device)?.revoked;
    if (revoked && head.seq > revoked.lastSeq) {
      refused.push({ device, message: `device ${head.deviceName} (${device}) was revoked on ${revoked.at}; its ${head.seq - revoked.lastSeq} later log entries are refused` });
    }
    heads.push(revoked ? { ...head, seq: Math.min(head.seq, revoked.lastSeq) } : head);
  }
  return heads;
}
