import { CcsError } from '../common/errors';
import { systemClock, type Clock } from './clock';

const MIN_BURST = 64 * 1024;

/**
 * A quarter second of traffic keeps the short-term rate close to the limit (the point of a limit
 * is to leave the uplink usable for others) while a 64 KiB floor lets one encryption segment
 * through without waiting.
 */
export function defaultBurst(bytesPerSecond: number): number {
  return bytesPerSecond === Infinity ? Infinity : Math.max(MIN_BURST, Math.round(bytesPerSecond / 4));
}

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (e: unknown) => void;
  detach: () => void;
}

/**
 * One bandwidth limit shared by every transfer. `take(n)` resolves when n bytes may be sent.
 * Waiters are served first come, first served, so one large transfer cannot starve small ones.
 * A request larger than the burst is granted when the bucket is full and leaves it in debt,
 * which later requests wait out: the long-run rate still holds.
 */
export class TokenBucket {
  private rate: number;
  private burst: number;
  private tokens: number;
  private last: number;
  private readonly waiters: Waiter[] = [];
  private pumping = false;
  private wake: AbortController | null = null;

  constructor(
    options: { bytesPerSecond: number; burstBytes?: number },
    private readonly clock: Clock = systemClock,
  ) {
    this.rate = checkRate(options.bytesPerSecond);
    this.burst = checkBurst(options.burstBytes ?? defaultBurst(this.rate));
    this.tokens = this.burst;
    this.last = clock.now();
  }

  get bytesPerSecond(): number {
    return this.rate;
  }

  get burstBytes(): number {
    return this.burst;
  }

  /** Takes effect at once, also for transfers already waiting. Infinity = unlimited. */
  setRate(bytesPerSecond: number, burstBytes?: number): void {
    const rate = checkRate(bytesPerSecond);
    const burst = checkBurst(burstBytes ?? defaultBurst(rate));
    this.refill();
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
    this.wake?.abort();
  }

  /** Rejects with the signal's reason if `signal` aborts first (a paused or cancelled transfer). */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) return Promise.reject(new CcsError('INTERNAL', `TokenBucket.take: bytes must be a finite number ≥ 0, got ${bytes}`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (bytes === 0) return Promise.resolve();
    if (this.waiters.length === 0 && this.tryGrant(bytes)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject, detach: () => {} };
      if (signal) {
        const onAbort = (): void => {
          const i = this.waiters.indexOf(waiter);
          if (i < 0) return;
          this.waiters.splice(i, 1);
          if (i === 0) this.wake?.abort();
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiters.push(waiter);
      if (!this.pumping) void this.pump();
    });
  }

  private tryGrant(bytes: number): boolean {
    if (this.rate === Infinity) return true;
    this.refill();
    if (this.tokens < Math.min(bytes, this.burst)) return false;
    this.tokens -= bytes;
    return true;
  }

  private refill(): void {
    const now = this.clock.now();
    if (this.rate !== Infinity) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.waiters.length > 0) {
        const head = this.waiters[0]!;
        if (this.tryGrant(head.bytes)) {
          this.waiters.shift();
          head.detach();
          head.resolve();
          continue;
        }
        const missing = Math.min(head.bytes, this.burst) - this.tokens;
        this.wake = new AbortController();
        await this.clock.sleep(Math.max(1, Math.ceil((missing / this.rate) * 1000)), this.wake.signal);
        this.wake = null;
      }
    } finally {
      this.pumping = false;
    }
  }
}

function checkRate(r: number): number {
  if (!(r > 0)) throw new CcsError('USAGE', `bandwidth limit must be > 0 bytes/s (Infinity for none), got ${r}`);
  return r;
}

function checkBurst(b: number): number {
  if (!(b > 0)) throw new CcsError('USAGE', `burst must be > 0 bytes, got ${b}`);
  return b;
}
