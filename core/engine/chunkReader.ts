import { codecFromId, decompressChunk } from '../chunking/compress';
import { CcsError } from '../common/errors';
import { hmacSha256, timingSafeEqualBuf } from '../crypto/keys';
import { cryptoOffload } from '../crypto/cryptoOffload';
import { HEADER_LENGTH, cipherRangeFor, plaintextLength } from '../crypto/stream';
import type { Remote } from '../remotes/remote';
import { names } from './format';
import type { StoredChunk } from '../vault/stateDb';
import type { TransferStats } from './transferStats';
import type { VaultKeys } from './vaultKeys';

/** Read-ahead per range request: chunks of neighbouring small files usually sit next to each other in a pack. */
const WINDOW = 4 * 1024 * 1024;
const MAX_WINDOWS = 6;
const READ_AHEAD = 2;

interface Window {
  pack: string;
  start: number;
  end: number;
  /** Shared by concurrent readers of neighbouring chunks, so a window is fetched once. */
  data: Promise<Buffer>;
}

/**
 * Reads chunks out of packs with range requests, decrypts them, decompresses them and checks the
 * keyed hash of the plaintext against the chunk id before anyone may write the bytes to a user file.
 */
export class ChunkReader {
  private readonly headers = new Map<string, Buffer>();
  private readonly sized = new Set<string>();
  private windows: Window[] = [];

  constructor(
    private readonly remote: Remote,
    private readonly keys: VaultKeys,
    private readonly stats: TransferStats,
  ) {}

  async read(chunk: StoredChunk): Promise<Buffer> {
    const stored = await this.readStored(chunk);
    const plain = decompressChunk(codecFromId(chunk.codec), stored, chunk.rawLength);
    const actual = hmacSha256(this.keys.subkeys.chunkId, plain);
    if (!timingSafeEqualBuf(actual, Buffer.from(chunk.id, 'hex'))) {
      throw new CcsError('OBJECT_CORRUPT', `chunk ${chunk.id.slice(0, 16)}… in pack ${chunk.pack} does not match its hash: the remote returned other data than was stored`);
    }
    return plain;
  }

  private async readStored(chunk: StoredChunk): Promise<Buffer> {
    const end = chunk.offset + chunk.length;
    const plainTotal = plaintextLength(chunk.packSize);
    let w = this.windows.find((x) => x.pack === chunk.pack && x.start <= chunk.offset && x.end >= end);
    if (!w) {
      const length = Math.min(Math.max(chunk.length, WINDOW), plainTotal - chunk.offset);
      if (length < chunk.length) {
        throw new CcsError('OBJECT_CORRUPT', `pack ${chunk.pack} is shorter than the index says (chunk at ${chunk.offset}+${chunk.length}, pack holds ${plainTotal})`);
      }
      w = this.open(chunk.pack, chunk.packSize, chunk.offset, length);
    }
    // Read ahead: on a network store one request at a time is latency-bound, so the next windows
    // of the same pack are already on their way while this one is consumed.
    let next = w.end;
    for (let i = 0; i < READ_AHEAD && next < plainTotal; i++) {
      const at = next;
      const ahead = this.windows.find((x) => x.pack === chunk.pack && x.start === at) ?? this.open(chunk.pack, chunk.packSize, at, Math.min(WINDOW, plainTotal - at));
      next = ahead.end;
    }
    try {
      return (await w.data).subarray(chunk.offset - w.start, end - w.start);
    } catch (e) {
      this.windows = this.windows.filter((x) => x !== w);
      throw e;
    }
  }

  private open(pack: string, packSize: number, start: number, length: number): Window {
    const w: Window = { pack, start, end: start + length, data: this.fetch(pack, packSize, start, length) };
    w.data.catch(() => {}); // a failed read-ahead is reported when (if) its data is used
    this.windows.push(w);
    if (this.windows.length > MAX_WINDOWS) this.windows.shift();
    return w;
  }

  private async fetch(pack: string, packSize: number, offset: number, length: number): Promise<Buffer> {
    const name = names.pack(pack);
    if (!this.sized.has(pack)) {
      const stat = await this.remote.stat(name);
      if (!stat) throw new CcsError('OBJECT_MISSING', `pack ${name} is missing from the remote`);
      if (stat.size !== packSize) {
        throw new CcsError('OBJECT_CORRUPT', `pack ${name} is ${stat.size} bytes on the remote but was stored as ${packSize}: truncated or replaced`);
      }
      this.sized.add(pack);
    }
    const r = cipherRangeFor(offset, length, packSize);
    // The header is fetched on its own (once per pack) so the segment slice is a buffer of its
    // own that moves to the crypto worker without a copy.
    let header = this.headers.get(pack);
    if (!header) {
      header = await this.remote.getRange(name, 0, HEADER_LENGTH);
      this.stats.bytesDownloaded += header.length;
    }
    const slice = await this.remote.getRange(name, r.cipherOffset, r.cipherLength);
    this.stats.bytesDownloaded += slice.length;
    this.headers.set(pack, header);
    return cryptoOffload().decryptRange(header, slice, r.firstSegment, packSize, name, (e) => this.keys.epochs.get(e), r.skip, length);
  }
}
