import { randomBytes } from 'node:crypto';
import { assertCodecAvailable, CODEC_IDS, compressChunk, type Codec } from '../chunking/compress';
import { cryptoOffload } from '../crypto/cryptoOffload';
import type { Remote } from '../remotes/remote';
import type { ChunkRef, PackRef } from './format';
import { names } from './format';
import type { TransferStats } from './transferStats';
import type { VaultKeys } from './vaultKeys';

export interface CompressionHint {
  incompressibleRun: number;
}

const INCOMPRESSIBLE_RUN = 3;

/**
 * Collects new chunks into packs of about `packSize` bytes, so thousands of small files become a
 * few objects (restic/Kopia packs), and uploads sealed packs with a bounded window of concurrent
 * puts: memory stays at (window + 1) × packSize whatever the size of the data.
 *
 * Packs are uploaded before the log entry that references them (write ordering rule 1); a pack
 * whose log entry is never written is garbage, never a dangling reference.
 */
export class PackWriter {
  private parts: Buffer[] = [];
  private refs: ChunkRef[] = [];
  private size = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sealed: PackRef[] = [];
  private readonly pending = new Set<string>();
  private failure: unknown = null;

  constructor(
    private readonly remote: Remote,
    private readonly keys: VaultKeys,
    private readonly codec: Codec,
    private readonly packSize: number,
    private readonly stats: TransferStats,
    /** True when the chunk is already stored in a known pack (dedup across syncs and devices). */
    private readonly known: (id: string) => boolean,
    /** Called once a pack is durable on the remote (the caller records it for crash resume). */
    private readonly onStored: (pack: PackRef) => void = () => {},
    private readonly window = 3,
  ) {}

  /**
   * Adds a chunk unless an identical one is already stored; returns true when it was new.
   * `hint` is per file: after a few chunks that did not compress (media, archives, random data),
   * the rest of that file is stored without trying, which saves a deflate sample per chunk.
   */
  async add(id: string, plain: Buffer, hint?: CompressionHint): Promise<boolean> {
    if (this.failure) throw this.failure;
    if (this.pending.has(id) || this.known(id)) return false;
    this.pending.add(id);
    const skip = hint !== undefined && hint.incompressibleRun >= INCOMPRESSIBLE_RUN;
    const c = skip ? { codec: 'none' as const, data: plain } : compressChunk(plain, this.codec);
    if (hint && !skip) hint.incompressibleRun = c.codec === 'none' ? hint.incompressibleRun + 1 : 0;
    this.refs.push({ id, offset: this.size, length: c.data.length, rawLength: plain.length, codec: CODEC_IDS[c.codec] });
    this.parts.push(c.data);
    this.size += c.data.length;
    if (this.size >= this.packSize) await this.seal();
    return true;
  }

  /** True when chunks were added (a pack was or will be uploaded). */
  hasWork(): boolean {
    return this.size > 0 || this.inFlight.size > 0 || this.sealed.length > 0;
  }

  /** Seals the last partial pack and waits until every pack is durable on the remote. */
  async flush(): Promise<PackRef[]> {
    if (this.size > 0) await this.seal();
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
    return this.sealed;
  }

  private async seal(): Promise<void> {
    const plain = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    const refs = this.refs;
    this.parts = [];
    this.refs = [];
    this.size = 0;
    const id = randomBytes(16).toString('hex');
    const name = names.pack(id);
    while (this.inFlight.size >= this.window) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const epoch = this.keys.currentEpoch;
    // Encryption runs on the crypto worker while this thread goes on chunking and hashing.
    const p: Promise<void> = (async () => {
      const data = await cryptoOffload().encrypt(plain, name, epoch, this.keys.epochs.get(epoch)!);
      await this.remote.put(name, data);
      this.stats.bytesUploaded += data.length;
      const ref = { id, size: data.length, chunks: refs };
      this.onStored(ref);
      this.sealed.push(ref);
    })().then(
      () => {
        this.inFlight.delete(p);
      },
      (e: unknown) => {
        this.failure ??= e;
        this.inFlight.delete(p);
      },
    );
    this.inFlight.add(p);
  }
}

/**
 * The PackWriter every operation uses: dedup against every pack this device knows (published or
 * not), and each stored pack recorded at once (a durable local commit) so an interrupted sync
 * resumes from the last stored pack instead of from zero.
 */
export function packWriterFor(s: { remote: Remote; keys: VaultKeys; manifest: { compression: Codec; packSize: number }; db: { hasChunk(id: string): boolean; tx<T>(fn: () => T): T; addPack(id: string, size: number, chunks: ChunkRef[], published?: boolean): void } }, stats: TransferStats): PackWriter {
  // Before any chunk is compressed or uploaded: a runtime without the vault's codec (zstd on Node
  // < 22.15) must not write chunks at all, rather than fail halfway or fall back to another codec.
  assertCodecAvailable(s.manifest.compression);
  return new PackWriter(s.remote, s.keys, s.manifest.compression, s.manifest.packSize, stats, (id) => s.db.hasChunk(id), (p) => s.db.tx(() => s.db.addPack(p.id, p.size, p.chunks, false)));
}
