import { CcsError } from '../../common/errors';
import type { Clock } from '../../transfer/clock';
import { TokenBucket } from '../../transfer/tokenBucket';
import { TransferControl } from '../../transfer/transferControl';
import type { ObjectInfo, PutOptions, Remote } from '../remote';
import type { ConditionalWrites } from '../selfTest';

export type TransferDirection = 'up' | 'down';

export interface ThrottleOptions {
  /** The limit in bytes per second; null, undefined or Infinity = no limit. Ignored with `bucket`. */
  bytesPerSecond?: number | null;
  /** A bucket shared with others (one limit for several remotes, or kept across syncs). */
  bucket?: TokenBucket;
  /** Pause, resume and cancel, checked before every slice and every other call. */
  control?: TransferControl;
  /** Hears every slice as it is let through (progress); must not throw. */
  onBytes?: (direction: TransferDirection, bytes: number) => void;
  /** Bytes let through per token request (default 64 KiB, one encryption segment). */
  sliceBytes?: number;
  /** For the bucket this wrapper creates (tests). */
  clock?: Clock;
}

const DEFAULT_SLICE = 64 * 1024;

/** A bandwidth limit as TokenBucket takes it: null / Infinity mean none. */
export function rateOrInfinity(bytesPerSecond: number | null | undefined): number {
  if (bytesPerSecond === null || bytesPerSecond === undefined || bytesPerSecond === Infinity) return Infinity;
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) throw new CcsError('USAGE', `bandwidth limit must be a number of bytes per second > 0 (or none), got ${bytesPerSecond}`);
  return bytesPerSecond;
}

/**
 * Meters every byte that put/get/getRange move through one TokenBucket, shared by all concurrent
 * transfers, so a limit caps their total; the limit can change at run time (`setRate`) and applies
 * at once to transfers already waiting. Bytes go through in slices (64 KiB), which keeps the flow
 * smooth, lets a pause or a cancel (TransferControl) act within one slice, and gives fine-grained
 * progress to `onBytes`. Nothing is copied: slices are only counted.
 *
 * The Remote contract moves whole objects, so an upload pays for its slices before the object is
 * handed to the inner remote, a range read before it is requested (its length is known), and a
 * whole-object get after it arrived (its length is not). On the wire an object still goes at line
 * speed once paid for; the long-run rate over all transfers is what the bucket holds.
 *
 * Objects are paid for one at a time per direction, in call order, while the ones already paid
 * for are being written: under a limit, concurrent uploads finish one after the other instead of
 * all at the end, so an interrupted sync keeps every pack it completed (and the object needed
 * first, not the read-ahead, is fetched first).
 *
 * Other calls (check, list, stat, delete…) move no data: they only wait while paused and fail once
 * cancelled. With no limit and no pause, a data call costs one resolved promise.
 */
export class ThrottledRemote implements Remote {
  readonly description: string;
  readonly bucket: TokenBucket;
  private readonly control: TransferControl | undefined;
  private readonly slice: number;
  private onBytes: ThrottleOptions['onBytes'];
  /** The last object waiting to be paid for, per direction. */
  private readonly lines: Record<TransferDirection, Promise<void>> = { up: Promise.resolve(), down: Promise.resolve() };

  constructor(
    readonly inner: Remote,
    options: ThrottleOptions = {},
  ) {
    this.description = inner.description;
    this.bucket = options.bucket ?? new TokenBucket({ bytesPerSecond: rateOrInfinity(options.bytesPerSecond) }, options.clock);
    this.control = options.control;
    this.onBytes = options.onBytes;
    this.slice = options.sliceBytes ?? DEFAULT_SLICE;
    if (!(this.slice >= 1) || !Number.isInteger(this.slice)) throw new CcsError('INTERNAL', `sliceBytes must be a positive integer, got ${this.slice}`);
  }

  /** bytes per second, or null for none; applies at once, also to transfers already running. */
  setRate(bytesPerSecond: number | null): void {
    this.bucket.setRate(rateOrInfinity(bytesPerSecond));
  }

  /** The current limit in bytes per second, null when there is none. */
  get bytesPerSecond(): number | null {
    const r = this.bucket.bytesPerSecond;
    return r === Infinity ? null : r;
  }

  /** Replaces the byte listener (null: none). */
  setListener(onBytes: ThrottleOptions['onBytes'] | null): void {
    this.onBytes = onBytes ?? undefined;
  }

  async check(): Promise<void> {
    await this.gate();
    return this.inner.check();
  }

  async create(): Promise<void> {
    await this.gate();
    return this.inner.create();
  }

  async put(name: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    await this.meter('up', data.length);
    return this.inner.put(name, data, options);
  }

  async get(name: string): Promise<Buffer> {
    await this.gate();
    const data = await this.inner.get(name);
    await this.meter('down', data.length);
    return data;
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    await this.meter('down', length);
    return this.inner.getRange(name, offset, length);
  }

  async stat(name: string): Promise<ObjectInfo | null> {
    await this.gate();
    return this.inner.stat(name);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    await this.gate();
    return this.inner.list(prefix);
  }

  async delete(name: string): Promise<void> {
    await this.gate();
    return this.inner.delete(name);
  }

  /** Forwards the inner remote's answer (see selfTest), if it has one. */
  async conditionalWrites(): Promise<ConditionalWrites | undefined> {
    const inner = this.inner as Partial<{ conditionalWrites(): Promise<ConditionalWrites | undefined> }>;
    if (typeof inner.conditionalWrites !== 'function') return undefined;
    await this.gate();
    return inner.conditionalWrites.call(this.inner);
  }

  private gate(): Promise<void> {
    return this.control ? this.control.checkpoint() : Promise.resolve();
  }

  private async meter(direction: TransferDirection, bytes: number): Promise<void> {
    if (!(bytes > 0)) return this.gate();
    const before = this.lines[direction];
    let release!: () => void;
    this.lines[direction] = new Promise<void>((r) => (release = r));
    try {
      await before;
      let left = bytes;
      while (left > 0) {
        // Without a limit there is nothing to pace: one step, whatever the size.
        const n = this.bucket.bytesPerSecond === Infinity ? left : Math.min(left, this.slice);
        await this.acquire(n);
        left -= n;
        this.onBytes?.(direction, n);
      }
    } finally {
      release();
    }
  }

  private async acquire(bytes: number): Promise<void> {
    const c = this.control;
    if (!c) return this.bucket.take(bytes);
    for (;;) {
      await c.checkpoint();
      const halt = c.haltSignal;
      try {
        return await this.bucket.take(bytes, halt);
      } catch (e) {
        // A pause takes the slice out of the line; it queues again after the resume.
        if (TransferControl.isPause(e)) continue;
        throw e;
      }
    }
  }
}
