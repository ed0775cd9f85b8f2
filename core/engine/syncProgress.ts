import type { SyncProgressDto } from '../api/contract';
import { ThrottledRemote, type TransferDirection } from '../remotes/wrappers/ThrottledRemote';
import { systemClock, type Clock } from '../transfer/clock';
import { ProgressTracker } from '../transfer/progress';
import type { TokenBucket } from '../transfer/tokenBucket';
import type { TransferControl } from '../transfer/transferControl';
import type { ChunkReader } from './chunkReader';
import type { Planned } from './materialize';
import type { PackWriter } from './packWriter';
import type { DeviceSession } from './session';

export type SyncPhase = SyncProgressDto['phase'];

/**
 * Where a sync is. Upload bytes are what goes to the remote (encrypted, compressed packs and log
 * entries: what a bandwidth limit meters); download bytes are file content fetched for the working
 * copy (plaintext, so the total is exact).
 */
/** The DTO of the contract is the engine's own shape (phase, bytes, files, speed, ETA, paused). */
export type SyncProgress = SyncProgressDto;

/** Events at most every 100 ms (≤ 10/s), the last state always delivered; the final 'done' at once. */
const MIN_INTERVAL_MS = 100;

/**
 * Turns the bytes a ThrottledRemote lets through and the engine's steps into SyncProgress
 * events. Plans its totals from the scan (upload) and the versions to materialize (download).
 */
export class SyncProgressReporter {
  private phase: SyncPhase = 'scan';
  private readonly tracker: ProgressTracker;
  private filesDone = 0;
  private filesTotal = 0;
  private plannedUpload = 0;
  private dedupBytes = 0;
  /** Upload: for each hashed file, the plain bytes hashed up to its end (increasing). */
  private hashedUpTo: number[] = [];
  private hashedBytes = 0;
  private lastEmit = -Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  /** Download: chunk id → one entry per occurrence, the version waiting for it. */
  private waiting = new Map<string, { left: number }[]>();
  private readonly offControl: () => void;

  constructor(
    private readonly listener: (p: SyncProgress) => void,
    private readonly control: TransferControl | undefined,
    private readonly clock: Clock = systemClock,
  ) {
    this.tracker = new ProgressTracker({}, clock);
    this.offControl = control?.onChange(() => this.emit()) ?? (() => {});
    this.emit();
  }

  /** For ThrottledRemote's onBytes. */
  readonly onBytes = (direction: TransferDirection, bytes: number): void => {
    if (direction !== 'up' || this.phase !== 'upload' || this.closed) return;
    this.tracker.advance('upload', bytes);
    this.emit();
  };

  startUpload(files: readonly { size: number }[]): void {
    this.plannedUpload = files.reduce((n, f) => n + f.size, 0);
    this.hashedUpTo = [];
    this.hashedBytes = 0;
    this.filesDone = 0;
    this.filesTotal = files.length;
    this.phase = 'upload';
    this.tracker.start('upload', { totalBytes: this.plannedUpload });
    this.emit();
  }

  /** A file was hashed (its new chunks are on their way), or left for the next sync. */
  fileHashed(size: number): void {
    this.hashedBytes += size;
    this.hashedUpTo.push(this.hashedBytes);
    this.emit();
  }

  /** Chunks the writer finds already stored will not be sent: the upload total shrinks by them. */
  watchWriter(writer: PackWriter | null): void {
    if (!writer) return;
    const add = writer.add.bind(writer);
    writer.add = async (id, plain, hint) => {
      const isNew = await add(id, plain, hint);
      if (!isNew && this.phase === 'upload') this.dedupBytes += plain.length;
      return isNew;
    };
  }

  startDownload(plans: readonly Planned[]): void {
    if (this.phase === 'upload') this.tracker.finish('upload');
    // A rename seen on another device moves the local file: nothing to fetch (see materialize).
    const deletedContent = new Map(plans.filter((p) => p.version.deleted && p.row).map((p) => [p.version.path, p.row!.contentId]));
    const fetch = plans.filter((p) => !p.version.deleted && !(p.version.renamedFrom && !p.row && deletedContent.get(p.version.renamedFrom) === p.version.contentId));
    this.waiting = new Map();
    this.filesDone = 0;
    this.filesTotal = fetch.length;
    for (const p of fetch) {
      const v = { left: p.version.chunks.length };
      if (v.left === 0) this.filesDone++;
      for (const id of p.version.chunks) {
        const list = this.waiting.get(id);
        if (list) list.push(v);
        else this.waiting.set(id, [v]);
      }
    }
    this.phase = 'download';
    this.tracker.start('download', { totalBytes: fetch.reduce((n, p) => n + p.version.size, 0) });
    this.emit();
  }

  /** Counts the plaintext of every chunk read during the download phase. */
  watchReader(reader: ChunkReader): void {
    const read = reader.read.bind(reader);
    reader.read = async (chunk) => {
      const plain = await read(chunk);
      if (this.phase === 'download' && !this.closed) {
        const v = this.waiting.get(chunk.id)?.shift();
        if (v && --v.left === 0) this.filesDone++;
        this.tracker.advance('download', plain.length);
        this.emit();
      }
      return plain;
    };
  }

  /** The final event, at once. */
  finish(): void {
    if (this.closed) return;
    if (this.phase === 'upload' || this.phase === 'download') this.tracker.finish(this.phase);
    const last = this.view();
    this.phase = 'done';
    this.close();
    this.listener({ ...last, phase: 'done', bytesPerSecond: 0, etaSeconds: 0, paused: false });
  }

  /** No event after this one (also on failure). */
  close(): void {
    this.closed = true;
    this.offControl();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  snapshot(): SyncProgress {
    return this.view();
  }

  private view(): SyncProgress {
    const paused = this.control?.paused ?? false;
    const base = { filesDone: this.filesDone, filesTotal: this.filesTotal, paused };
    if (this.phase !== 'upload' && this.phase !== 'download') return { phase: this.phase, bytesDone: 0, bytesTotal: 0, bytesPerSecond: 0, etaSeconds: null, ...base };
    const t = this.tracker.snapshot().transfers.find((x) => x.id === this.phase);
    if (!t) return { phase: this.phase, bytesDone: 0, bytesTotal: 0, bytesPerSecond: 0, etaSeconds: null, ...base };
    let total = t.bytesTotal ?? 0;
    if (this.phase === 'upload') {
      total = Math.max(t.bytesDone, this.plannedUpload - this.dedupBytes);
      if (t.phase === 'running') this.tracker.setTotal('upload', total);
      // Sent bytes are ciphertext of new chunks, plus what dedup skipped: close to the plain bytes done.
      const done = t.phase === 'running' ? t.bytesDone + this.dedupBytes : Infinity;
      while (this.filesDone < this.hashedUpTo.length && this.hashedUpTo[this.filesDone]! <= done) this.filesDone++;
      base.filesDone = this.filesDone;
    }
    const eta = paused ? null : t.bytesPerSecond > 0 ? Math.max(0, total - t.bytesDone) / t.bytesPerSecond : t.bytesDone >= total ? 0 : null;
    return { phase: this.phase, bytesDone: t.bytesDone, bytesTotal: total, bytesPerSecond: t.bytesPerSecond, etaSeconds: eta, ...base };
  }

  private emit(): void {
    if (this.closed || this.timer) return;
    const wait = this.lastEmit + MIN_INTERVAL_MS - this.clock.now();
    if (wait <= 0) return this.send();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closed) this.send();
    }, wait);
    this.timer.unref?.();
  }

  private send(): void {
    this.lastEmit = this.clock.now();
    this.listener(this.view());
  }
}

/** The options of runSync that concern transfers (see SyncOptions). */
export interface TransferOptions {
  onProgress?: (p: SyncProgress) => void;
  control?: TransferControl;
  bwlimit?: number | null;
  bandwidth?: TokenBucket;
}

/**
 * The session a sync works with: its remote wrapped in a ThrottledRemote when a limit, a control
 * or a progress listener is given (otherwise the session itself), and the progress reporter.
 */
export function transfersFor(s: DeviceSession, opts: TransferOptions): { session: DeviceSession; progress: SyncProgressReporter | null; close: () => void } {
  const limited = opts.bandwidth !== undefined || (opts.bwlimit !== undefined && opts.bwlimit !== null);
  if (!limited && !opts.control && !opts.onProgress) return { session: s, progress: null, close: () => {} };
  const progress = opts.onProgress ? new SyncProgressReporter(opts.onProgress, opts.control) : null;
  const remote = new ThrottledRemote(s.remote, {
    ...(opts.bandwidth ? { bucket: opts.bandwidth } : { bytesPerSecond: opts.bwlimit ?? null }),
    ...(opts.control ? { control: opts.control } : {}),
    ...(progress ? { onBytes: progress.onBytes } : {}),
  });
  return { session: { ...s, remote }, progress, close: () => progress?.close() };
}
