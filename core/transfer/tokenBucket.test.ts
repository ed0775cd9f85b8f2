import { describe, expect, it } from 'vitest';
import { FakeClock } from './fakeClock';
import { TokenBucket, defaultBurst } from './tokenBucket';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Runs `senders` loops that each take `chunk` bytes at a time; returns the bytes granted per sender. */
function startSenders(bucket: TokenBucket, senders: number, chunk: number): { granted: number[]; stop: () => void } {
  const granted = Array<number>(senders).fill(0);
  let stopped = false;
  for (let s = 0; s < senders; s++) {
    void (async () => {
      while (!stopped) {
        await bucket.take(chunk);
        if (!stopped) granted[s]! += chunk;
      }
    })();
  }
  return { granted, stop: () => (stopped = true) };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('TokenBucket', () => {
  it('holds the rate within the burst over a long run, shared fairly by concurrent transfers', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ bytesPerSecond: 1 * MiB }, clock);
    expect(bucket.burstBytes).toBe(256 * KiB);
    const run = startSenders(bucket, 3, 64 * KiB);
    for (let t = 0; t < 100; t++) await clock.advance(100);
    run.stop();
    const total = sum(run.granted);
    // 10 s at 1 MiB/s, plus at most the initial burst and one chunk of rounding.
    expect(total).toBeGreaterThanOrEqual(10 * MiB - 64 * KiB);
    expect(total).toBeLessThanOrEqual(10 * MiB + 256 * KiB + 64 * KiB);
    for (const g of run.granted) expect(Math.abs(g - total / 3)).toBeLessThanOrEqual(128 * KiB);
  });

  it('applies a rate change at once, also to transfers already waiting', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ bytesPerSecond: 100 * KiB, burstBytes: 64 * KiB }, clock);
    const run = startSenders(bucket, 2, 16 * KiB);
    for (let t = 0; t < 50; t++) await clock.advance(100); // 5 s at 100 KiB/s
    const atSlow = sum(run.granted);
    expect(atSlow).toBeGreaterThanOrEqual(500 * KiB - 16 * KiB);
    expect(atSlow).toBeLessThanOrEqual(500 * KiB + 64 * KiB + 16 * KiB);

    bucket.setRate(1 * MiB, 64 * KiB);
    for (let t = 0; t < 50; t++) await clock.advance(100); // 5 s at 1 MiB/s
    const atFast = sum(run.granted) - atSlow;
    expect(atFast).toBeGreaterThanOrEqual(5 * MiB - 64 * KiB);
    expect(atFast).toBeLessThanOrEqual(5 * MiB + 64 * KiB + 16 * KiB);

    bucket.setRate(10 * KiB, 16 * KiB);
    const before = sum(run.granted);
    for (let t = 0; t < 50; t++) await clock.advance(100); // 5 s at 10 KiB/s
    expect(sum(run.granted) - before).toBeLessThanOrEqual(50 * KiB + 16 * KiB + 16 * KiB);
    run.stop();
  });

  it('lifts the limit for waiters at once when set to unlimited', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ bytesPerSecond: 1 * KiB, burstBytes: 1 * KiB }, clock);
    await bucket.take(1 * KiB);
    let done = false;
    void bucket.take(10 * MiB).then(() => (done = true));
    await clock.advance(0);
    expect(done).toBe(false);
    bucket.setRate(Infinity);
    await clock.advance(0);
    expect(done).toBe(true);
    await bucket.take(100 * MiB); // no wait at all
  });

  it('grants a request larger than the burst once the bucket is full, then makes others wait out the debt', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ bytesPerSecond: 100 * KiB, burstBytes: 100 * KiB }, clock);
    await bucket.take(400 * KiB); // full bucket: granted, leaves a 300 KiB debt
    let granted = -1;
    void bucket.take(1 * KiB).then(() => (granted = clock.now()));
    await clock.advance(2900);
    expect(granted).toBe(-1);
    await clock.advance(200);
    expect(granted).toBeGreaterThan(2900);
    expect(granted).toBeLessThanOrEqual(3020);
  });

  it('serves waiters first come, first served', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ bytesPerSecond: 10 * KiB, burstBytes: 10 * KiB }, clock);
    await bucket.take(10 * KiB);
    const order: string[] = [];
    void bucket.take(8 * KiB).then(() => order.push('big'));
    void bucket.take(1 * KiB).then(() => order.push('small'));
    await clock.advance(5000);
    expect(order).toEqual(['big', 'small']);
  });

  it('an aborted take leaves the queue and rejects with the reason', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ bytesPerSecond: 1 * KiB, burstBytes: 1 * KiB }, clock);
    await bucket.take(1 * KiB);
    const ac = new AbortController();
    const aborted = bucket.take(1 * KiB, ac.signal);
    let nextDone = false;
    void bucket.take(512).then(() => (nextDone = true));
    ac.abort(new Error('paused'));
    await expect(aborted).rejects.toThrow('paused');
    await clock.advance(600);
    expect(nextDone).toBe(true);
    await expect(bucket.take(1, ac.signal)).rejects.toThrow('paused');
  });

  it('has a sensible default burst and refuses nonsense', () => {
    expect(defaultBurst(10 * KiB)).toBe(64 * KiB);
    expect(defaultBurst(8 * MiB)).toBe(2 * MiB);
    expect(defaultBurst(Infinity)).toBe(Infinity);
    expect(() => new TokenBucket({ bytesPerSecond: 0 })).toThrow(/> 0/);
    expect(() => new TokenBucket({ bytesPerSecond: 1, burstBytes: -1 })).toThrow(/burst/);
    return expect(new TokenBucket({ bytesPerSecond: 1 }).take(-1)).rejects.toThrow(/≥ 0/);
  });
});
