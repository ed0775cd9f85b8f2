import { CcsError } from '../common/errors';
import { systemClock, type Clock } from './clock';
import { RateEstimator } from './rateEstimator';

export type TransferPhase = 'running' | 'done' | 'failed';

export interface TransferProgress {
  id: string;
  label: string;
  bytesDone: number;
  /** null while the size is unknown (a download before its header arrives). */
  bytesTotal: number | null;
  bytesPerSecond: number;
  /** null when it cannot be estimated (size unknown, nothing moving yet, finished). */
  etaSeconds: number | null;
  phase: TransferPhase;
  error?: string;
}

export interface OverallProgress {
  bytesDone: number;
  bytesTotal: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
  active: number;
}

export interface ProgressEvent {
  transfer: TransferProgress;
  overall: OverallProgress;
}

interface Entry {
  id: string;
  label: string;
  done: number;
  total: number | null;
  phase: TransferPhase;
  error?: string;
  rate: RateEstimator;
}

/**
 * Bytes, smoothed speed and ETA per transfer and for all of them. The overall speed is smoothed
 * on its own (not the sum of per-transfer speeds, which would keep counting finished transfers).
 * A new batch starts when a transfer starts while none is running: finished ones are forgotten.
 * Listeners hear every start and end at once and progress at most every `minIntervalMs`.
 */
export class ProgressTracker {
  private readonly entries = new Map<string, Entry>();
  private overallRate: RateEstimator;
  private readonly listeners = new Set<(e: ProgressEvent) => void>();
  private lastEmit = -Infinity;
  private readonly halfLifeMs: number;
  private readonly minIntervalMs: number;

  constructor(
    options: { halfLifeMs?: number; minIntervalMs?: number } = {},
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {
    this.halfLifeMs = options.halfLifeMs ?? 3000;
    this.minIntervalMs = options.minIntervalMs ?? 250;
    this.overallRate = new RateEstimator(this.halfLifeMs, clock.now());
  }

  onProgress(listener: (e: ProgressEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(id: string, options: { label?: string; totalBytes?: number | null; bytesDone?: number } = {}): void {
    const now = this.clock.now();
    if (this.active() === 0) {
      this.entries.clear();
      this.overallRate = new RateEstimator(this.halfLifeMs, now);
    }
    if (this.entries.get(id)?.phase === 'running') throw new CcsError('INTERNAL', `progress: transfer ${id} already started`);
    // A resumed transfer starts at its confirmed bytes; they were not moved now, so no speed.
    const done = options.bytesDone ?? 0;
    this.entries.set(id, { id, label: options.label ?? id, done, total: options.totalBytes ?? null, phase: 'running', rate: new RateEstimator(this.halfLifeMs, now, done) });
    this.overallRate.shift(done);
    this.emit(this.entries.get(id)!, true);
  }

  /** Adds bytes moved since the last call. */
  advance(id: string, deltaBytes: number): void {
    const e = this.running(id);
    const now = this.clock.now();
    e.done += deltaBytes;
    e.rate.observe(now, e.done);
    this.overallRate.observe(now, this.overallDone());
    this.emit(e, false);
  }

  setTotal(id: string, totalBytes: number): void {
    this.running(id).total = totalBytes;
  }

  finish(id: string): void {
    const e = this.running(id);
    e.phase = 'done';
    if (e.total !== null) e.total = Math.max(e.total, e.done);
    this.emit(e, true);
  }

  fail(id: string, error: unknown): void {
    const e = this.running(id);
    e.phase = 'failed';
    this.overallRate.shift(-e.done);
    e.error = error instanceof Error ? error.message : String(error);
    this.emit(e, true);
  }

  snapshot(): { transfers: TransferProgress[]; overall: OverallProgress } {
    const now = this.clock.now();
    return { transfers: [...this.entries.values()].map((e) => this.view(e, now)), overall: this.overall(now) };
  }

  private overall(now: number): OverallProgress {
    let done = 0;
    let total: number | null = 0;
    for (const e of this.entries.values()) {
      if (e.phase === 'failed') continue;
      done += e.done;
      total = total === null || e.total === null ? null : total + e.total;
    }
    const speed = this.overallRate.bytesPerSecond(now);
    return { bytesDone: done, bytesTotal: total, bytesPerSecond: speed, etaSeconds: eta(done, total, speed, this.active() > 0), active: this.active() };
  }

  private view(e: Entry, now: number): TransferProgress {
    const running = e.phase === 'running';
    const speed = running ? e.rate.bytesPerSecond(now) : 0;
    const out: TransferProgress = { id: e.id, label: e.label, bytesDone: e.done, bytesTotal: e.total, bytesPerSecond: speed, etaSeconds: eta(e.done, e.total, speed, running), phase: e.phase };
    if (e.error !== undefined) out.error = e.error;
    return out;
  }

  private emit(e: Entry, always: boolean): void {
    if (this.listeners.size === 0) return;
    const now = this.clock.now();
    if (!always && now - this.lastEmit < this.minIntervalMs) return;
    this.lastEmit = now;
    const event = { transfer: this.view(e, now), overall: this.overall(now) };
    for (const l of this.listeners) l(event);
  }

  private running(id: string): Entry {
    const e = this.entries.get(id);
    if (!e || e.phase !== 'running') throw new CcsError('INTERNAL', `progress: transfer ${id} is not running`);
    return e;
  }

  private active(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.phase === 'running') n++;
    return n;
  }

  private overallDone(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.phase !== 'failed') n += e.done;
    return n;
  }
}

function eta(done: number, total: number | null, speed: number, running: boolean): number | null {
  if (!running || total === null) return null;
  if (done >= total) return 0;
  return speed > 0 ? (total - done) / speed : null;
}
