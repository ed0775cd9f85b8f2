import type { Clock } from './clock';

/**
 * A clock that moves only when a test calls `advance`; sleepers wake in time order, and each
 * wake-up's continuation runs before time moves on.
 */
export class FakeClock implements Clock {
  private time = 0;
  private seq = 0;
  private sleepers: { at: number; seq: number; wake: () => void }[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper = { at: this.time + Math.max(0, ms), seq: this.seq++, wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Moves time forward by `ms`, waking every sleeper due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await settle();
    for (;;) {
      const due = this.sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.sleepers = this.sleepers.filter((s) => s !== due);
      this.time = Math.max(this.time, due.at);
      due.wake();
      await settle();
    }
    this.time = target;
    await settle();
  }

  get pendingSleepers(): number {
    return this.sleepers.length;
  }
}

/** setImmediate runs after every queued promise continuation. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
