import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { CcsError, isCcsError } from '../common/errors';
import { decryptObject, encryptObject } from '../crypto/stream';
import type { Remote } from '../remotes/remote';
import { HeadSchema, LogEntrySchema, names, parseJson, parseUntrusted, type Head, type LogEntry } from './format';
import type { TransferStats } from './transferStats';
import type { VaultKeys } from './vaultKeys';

/**
 * Per-device append-only metadata logs. Each device writes only `log/<its id>/…` and
 * `head/<its id>`, so no two devices ever write the same object and plain folders, WebDAV and S3
 * need no locking. Metadata is deflated, then encrypted with the current epoch key; the object
 * name is bound into the ciphertext, so an entry cannot be replayed under another name.
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

export async function writeLogEntry(remote: Remote, keys: VaultKeys, entry: LogEntry, stats: TransferStats): Promise<void> {
  const name = names.log(entry.device, entry.seq);
  const data = seal(keys, name, entry);
  await remote.put(name, data, { createOnly: true });
  stats.bytesUploaded += data.length;
}

export async function writeHead(remote: Remote, keys: VaultKeys, head: Head, stats: TransferStats): Promise<void> {
  const name = names.head(head.device);
  const data = seal(keys, name, head);
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

export async function readHeads(remote: Remote, keys: VaultKeys, stats: TransferStats): Promise<Head[]> {
  const objects = await remote.list(names.headPrefix);
  const heads: Head[] = [];
  for (const o of objects) {
    const device = o.name.slice(names.headPrefix.length);
    const data = await remote.get(o.name);
    stats.bytesDownloaded += data.length;
    const head = parseUntrusted(HeadSchema, open(keys, o.name, data), o.name);
    if (head.device !== device) throw new CcsError('OBJECT_CORRUPT', `${o.name} names device ${head.device}`);
    heads.push(head);
  }
  return heads;
}
