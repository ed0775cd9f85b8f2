import { codecFromId, decompressChunk } from '../chunking/compress';
import { isCcsError } from '../common/errors';
import { hmacSha256, timingSafeEqualBuf } from '../crypto/keys';
import { decryptObject } from '../crypto/stream';
import { names, type LogEntry, type PackRef } from './format';
import { readHeads, readLogEntry } from './logStore';
import type { DeviceSession } from './session';
import { newStats } from './transferStats';

export interface VerifyReport {
  ok: boolean;
  devices: number;
  logEntries: number;
  packs: number;
  chunks: number;
  /** Packs fully decrypted and every chunk hash-checked (only with readData). */
  packsRead: number;
  errors: string[];
}

/**
 * Checks the remote from scratch, independent of local state: every head and log entry must
 * decrypt and validate, every pack a log references must exist with the recorded size, every
 * chunk a version uses must be in some pack; with readData, every pack is decrypted and every
 * chunk's keyed hash is checked (restic `check --read-data`).
 */
export async function verifyRemote(s: DeviceSession, readData: boolean): Promise<VerifyReport> {
  const stats = newStats();
  const errors: string[] = [];
  const entries: LogEntry[] = [];
  const heads = await readHeads(s.remote, s.keys, stats);
  for (const h of heads) {
    for (let seq = 1; seq <= h.seq; seq++) {
      try {
        entries.push(await readLogEntry(s.remote, s.keys, h.device, seq, stats));
      } catch (e) {
        errors.push(message(e));
      }
    }
  }
  const packs = new Map<string, PackRef>();
  for (const e of entries) for (const p of e.packs) packs.set(p.id, p);
  const chunkHome = new Map<string, string>();
  for (const p of packs.values()) for (const c of p.chunks) chunkHome.set(c.id, p.id);
  for (const e of entries) {
    for (const v of e.versions) {
      for (const c of v.chunks) {
        if (!chunkHome.has(c)) errors.push(`version ${v.id} references chunk ${c.slice(0, 16)}… that no pack holds`);
      }
    }
  }
  let packsRead = 0;
  for (const p of packs.values()) {
    const name = names.pack(p.id);
    const st = await s.remote.stat(name);
    if (!st) {
      errors.push(`pack ${name} is missing`);
      continue;
    }
    if (st.size !== p.size) {
      errors.push(`pack ${name} is ${st.size} bytes, expected ${p.size} (truncated or replaced)`);
      continue;
    }
    if (!readData) continue;
    try {
      const plain = decryptObject(await s.remote.get(name), name, (ep) => s.keys.epochs.get(ep));
      for (const c of p.chunks) {
        const data = decompressChunk(codecFromId(c.codec), plain.subarray(c.offset, c.offset + c.length), c.rawLength);
        if (!timingSafeEqualBuf(hmacSha256(s.keys.subkeys.chunkId, data), Buffer.from(c.id, 'hex'))) {
          errors.push(`pack ${name}: chunk ${c.id.slice(0, 16)}… does not match its hash`);
        }
      }
      packsRead++;
    } catch (e) {
      errors.push(message(e));
    }
  }
  return { ok: errors.length === 0, devices: heads.length, logEntries: entries.length, packs: packs.size, chunks: chunkHome.size, packsRead, errors };
}

function message(e: unknown): string {
  return isCcsError(e) ? `${e.code}: ${e.message}` : String(e);
}
