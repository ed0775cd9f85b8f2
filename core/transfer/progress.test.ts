import { describe, expect, it } from 'vitest';
import { FakeClock } from './fakeClock';
import { ProgressTracker, type ProgressEvent } from './progress';

const MB = 1_000_000;

/** Progress only reads the time; the test moves it by hand. */
function syncSetup(options: { halfLifeMs?: number; minIntervalMs?: number } = {}) {
  const clock = { time: 0, now: () => clock.time };
  const tracker = new ProgressTracker({ halfLifeMs: 1000, ...options }, clock);
  const events: ProgressEvent[] = [];
  tracker.onProgress((e) => events.push(e));
  /** Moves `bytesPerStep` every 100 ms for `ms`. */
  const pump = (id: string, bytesPerStep: number, ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      clock.time += 100;
      tracker.advance(id, bytesPerStep);
    }
  };
  return { clock, tracker, events, pump };
}

describe('ProgressTracker', () => {
  it('reports bytes, smoothed speed and ETA per transfer', () => {
    const { tracker, pump } = syncSetup();
    tracker.start('a', { label: 'pack 1', totalBytes: 100 * MB });
    pump('a', 1 * MB, 10_000); // 10 MB/s for 10 s
    const [a] = tracker.snapshot().transfers;
    expect(a).toMatchObject({ id: 'a', label: 'pack 1', bytesDone: 100 * MB, phase: 'running' });
    expect(a!.bytesPerSecond).toBeCloseTo(10 * MB, -3);
    expect(a!.etaSeconds).toBe(0);
  });

  it('ETA = remaining bytes / smoothed speed; unknown size or no movement gives null', () => {
    const { tracker, pump, clock } = syncSetup();
    tracker.start('a', { totalBytes: 50 * MB });
    expect(tracker.snapshot().transfers[0]!.etaSeconds).toBeNull();
    pump('a', 0.5 * MB, 4000); // 5 MB/s, 20 MB done, 30 MB left
    const a = tracker.snapshot().transfers[0]!;
    expect(a.bytesDone).toBe(20 * MB);
    expect(a.etaSeconds).toBeCloseTo(6, 1);
    tracker.start('b');
    clock.time += 100;
    tracker.advance('b', 1 * MB);
    expect(tracker.snapshot().transfers[1]!.etaSeconds).toBeNull();
    tracker.setTotal('b', 10 * MB);
    clock.time += 100;
    tracker.advance('b', 1 * MB);
    expect(tracker.snapshot().transfers[1]!.etaSeconds).toBeCloseTo(8 / 10, 1); // 2 MB at 10 MB/s
  });

  it('smooths the overall speed on its own and sums bytes of every transfer in the batch', () => {
    const { tracker, clock } = syncSetup();
    tracker.start('a', { totalBytes: 30 * MB });
    tracker.start('b', { totalBytes: 70 * MB });
    for (let t = 0; t < 5000; t += 100) {
      clock.time += 100;
      tracker.advance('a', 0.2 * MB); // 2 MB/s
      tracker.advance('b', 0.6 * MB); // 6 MB/s
    }
    const { overall, transfers } = tracker.snapshot();
    expect(transfers.map((t) => Math.round(t.bytesPerSecond / 1000))).toEqual([2000, 6000]);
    expect(overall).toMatchObject({ bytesDone: 40 * MB, bytesTotal: 100 * MB, active: 2 });
    // Within 1%: the two transfers report at the same instant, so each overall sample lags by one report.
    expect(Math.abs(overall.bytesPerSecond / (8 * MB) - 1)).toBeLessThan(0.01);
    expect(overall.etaSeconds).toBeCloseTo(60 / 8, 1);
    tracker.finish('a');
    expect(tracker.snapshot().overall).toMatchObject({ bytesDone: 40 * MB, active: 1 });
    tracker.fail('b', new Error('remote went away'));
    const after = tracker.snapshot();
    expect(after.overall).toMatchObject({ bytesDone: 10 * MB, bytesTotal: 30 * MB, active: 0, etaSeconds: null });
    expect(after.transfers[1]).toMatchObject({ phase: 'failed', error: 'remote went away', bytesPerSecond: 0 });
    // The next transfer starts a new batch: finished ones are forgotten.
    tracker.start('c', { totalBytes: 1 * MB });
    expect(tracker.snapshot().transfers.map((t) => t.id)).toEqual(['c']);
  });

  it('a resumed transfer counts its confirmed bytes as done but not as speed', () => {
    const { tracker, pump } = syncSetup();
    tracker.start('a', { totalBytes: 100 * MB, bytesDone: 60 * MB });
    pump('a', 0.1 * MB, 2000); // 1 MB/s
    const { transfers, overall } = tracker.snapshot();
    expect(transfers[0]!.bytesDone).toBe(62 * MB);
    expect(transfers[0]!.bytesPerSecond).toBeCloseTo(1 * MB, -3);
    expect(overall.bytesPerSecond).toBeCloseTo(1 * MB, -3);
    expect(transfers[0]!.etaSeconds).toBeCloseTo(38, 0);
  });

  it('speed decays while a transfer stalls, so the ETA grows instead of freezing', () => {
    const { tracker, pump, clock } = syncSetup();
    tracker.start('a', { totalBytes: 100 * MB });
    pump('a', 1 * MB, 5000);
    const before = tracker.snapshot().transfers[0]!;
    clock.time += 3000; // stalled 2 s beyond the normal update gap: two half-lives
    const stalled = tracker.snapshot().transfers[0]!;
    expect(stalled.bytesPerSecond).toBeLessThan(before.bytesPerSecond / 3);
    expect(stalled.etaSeconds!).toBeGreaterThan(before.etaSeconds! * 3);
  });

  it('emits starts and ends at once, progress at most every minIntervalMs', () => {
    const { tracker, events, clock } = syncSetup({ minIntervalMs: 250 });
    tracker.start('a', { totalBytes: 10 });
    for (let i = 0; i < 10; i++) {
      clock.time += 50;
      tracker.advance('a', 1);
    }
    tracker.finish('a');
    expect(events.map((e) => `${e.transfer.phase}:${e.transfer.bytesDone}`)).toEqual(['running:0', 'running:5', 'running:10', 'done:10']);
    expect(events.at(-1)!.overall).toMatchObject({ bytesDone: 10, active: 0 });
    expect(() => tracker.advance('a', 1)).toThrow(/not running/);
  });

  it('works on the shared FakeClock', async () => {
    const clock = new FakeClock();
    const tracker = new ProgressTracker({ halfLifeMs: 1000 }, clock);
    tracker.start('x', { totalBytes: 10 });
    await clock.advance(100);
    tracker.advance('x', 5);
    expect(tracker.snapshot().transfers[0]!.bytesPerSecond).toBeCloseTo(50, 6);
  });
});
