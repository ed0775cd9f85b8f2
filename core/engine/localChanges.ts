import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chunkBuffer, chunkFile } from '../chunking/fastcdc';
import { cryptoOffload } from '../crypto/cryptoOffload';
import { hmacSha256 } from '../crypto/keys';
import { statKey, type ScanResult, type ScannedFile } from '../vault/scanner';
import type { FileRow } from '../vault/stateDb';
import type { Manifest, VaultKeys } from './vaultKeys';
import type { PackWriter } from './packWriter';

/**
 * A stat cache entry is trusted only if the file was last hashed clearly after its mtime:
 * otherwise an edit in the same timestamp tick could go unnoticed (git's "racy clean" problem).
 */
const RACY_WINDOW_MS = 2000;

/** Files from this size on hash their chunks on the crypto worker, HMAC_WINDOW chunks ahead. */
const PIPELINE_MIN = 8 * 1024 * 1024;
const HMAC_WINDOW = 64;

export interface LocalDiff {
  /** Files new or possibly changed since the last sync: they must be hashed. */
  candidates: ScannedFile[];
  /** Tracked files that are gone from the root. */
  deleted: FileRow[];
}

export function diffLocal(scan: ScanResult, rows: Map<string, FileRow>): LocalDiff {
  const candidates: ScannedFile[] = [];
  for (const f of scan.files.values()) {
    const row = rows.get(f.path);
    if (!row || statKey(row) !== statKey(f) || row.localPath !== f.localPath || row.mode !== f.mode) {
      candidates.push(f);
      continue;
    }
    if (Number(BigInt(f.mtimeNs) / 1_000_000n) >= row.hashedAt - RACY_WINDOW_MS) candidates.push(f);
  }
  // A tracked path that is now ignored or unreadable (a collision, a bad name) is left alone:
  // not seeing a file is not the same as the user deleting it.
  const hidden = new Set([...scan.problems.map((p) => p.path.normalize('NFC')), ...scan.ignored]);
  const deleted = [...rows.values()].filter((r) => !scan.files.has(r.path) && !hidden.has(r.path) && !isUnderIgnoredDir(r.path, scan.ignored));
  return { candidates, deleted };
}

function isUnderIgnoredDir(path: string, ignored: string[]): boolean {
  return ignored.some((i) => i.endsWith('/') && path.startsWith(i));
}

export interface HashedFile {
  contentId: string;
  chunks: string[];
  size: number;
}

export function contentIdOf(keys: VaultKeys, chunkIds: string[]): string {
  return hmacSha256(keys.subkeys.chunkId, Buffer.concat([Buffer.from('file\0'), ...chunkIds.map((c) => Buffer.from(c, 'hex'))])).toString('hex');
}

/**
 * Chunks and hashes one file, handing new chunks to the pack writer (or only hashing, when
 * writer is null). Returns null when the file changed or vanished while being read: its version
 * is not recorded this time, and the next sync picks it up once it is stable.
 */
export async function hashFile(root: string, f: ScannedFile, keys: VaultKeys, manifest: Manifest, writer: PackWriter | null): Promise<HashedFile | null> {
  const abs = join(root, f.localPath);
  const ids: string[] = [];
  const hint = { incompressibleRun: 0 };
  let size = 0;
  try {
    // A file that fits in one max-size chunk is read in one call; larger ones stream.
    const chunks = f.size <= manifest.chunker.maxSize ? chunkBuffer(await readFile(abs), manifest.chunker, keys.gear) : chunkFile(abs, manifest.chunker, keys.gear);
    const take = async (id: string, chunk: Buffer) => {
      ids.push(id);
      size += chunk.length;
      if (writer) await writer.add(id, chunk, hint);
    };
    const offload = cryptoOffload();
    if (offload.parallel && f.size >= PIPELINE_MIN) {
      // Large files: chunk ids are computed on the crypto worker while this thread cuts the next
      // chunks; results are taken in order, so packing stays deterministic per file.
      const inFlight: Promise<{ mac: Buffer; data: Buffer }>[] = [];
      for await (const chunk of chunks) {
        inFlight.push(offload.hmac(keys.subkeys.chunkId, chunk));
        if (inFlight.length >= HMAC_WINDOW) {
          const r = await inFlight.shift()!;
          await take(r.mac.toString('hex'), r.data);
        }
      }
      for (const p of inFlight) {
        const r = await p;
        await take(r.mac.toString('hex'), r.data);
      }
    } else {
      for await (const chunk of chunks) await take(hmacSha256(keys.subkeys.chunkId, chunk).toString('hex'), chunk);
    }
    const after = await lstat(abs, { bigint: true });
    const now = { size: Number(after.size), mtimeNs: after.mtimeNs.toString(), ctimeNs: after.ctimeNs.toString(), ino: after.ino.toString() };
    if (statKey(now) !== statKey(f) || size !== f.size) return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') return null;
    throw e;
  }
  return { contentId: contentIdOf(keys, ids), chunks: ids, size };
}
