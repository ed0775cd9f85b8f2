import { describe, expect, it } from 'vitest';
import type { SyncResultDto } from '../../core/api/contract';
import { startAutoSync, syncIntervalMs } from './autoSync';

const result: SyncResultDto = { pushed: 1, pulled: 0, conflicts: 0, bytesUploaded: 1, bytesDownloaded: 0, durationMs: 1 };

function manualTimers() {
  const ticks: Array<() => void> = [];
  let cleared = false;
  return {
    timers: {
      setInterval: (fn: () => void, ms: number) => {
        expect(ms).toBeGreaterThan(0);
        ticks.push(fn);
        return 1;
      },
      clearInterval: () => {
        cleared = true;
      },
    },
    tick: () => ticks.forEach((fn) => fn()),
    get armed() {
      return ticks.length > 0 && !cleared;
    },
  };
}

describe('syncIntervalMs', () => {
  it('defaults to 5 minutes; 0 disables; junk falls back', () => {
    expect(syncIntervalMs(undefined)).toBe(300_000);
    expect(syncIntervalMs('')).toBe(300_000);
    expect(syncIntervalMs('1')).toBe(60_000);
    expect(syncIntervalMs('0.5')).toBe(30_000);
    expect(syncIntervalMs('0')).toBe(0);
    expect(syncIntervalMs('-3')).toBe(300_000);
    expect(syncIntervalMs('soon')).toBe(300_000);
  });
});

describe('startAutoSync', () => {
  it('syncs on every tick and reports each run', async () => {
    const t = manualTimers();
    let calls = 0;
    const outcomes: unknown[] = [];
    const auto = startAutoSync(
      { syncNow: async () => (calls++, result) },
      { intervalMs: 1000, timers: t.timers, onDone: (o) => outcomes.push(o) },
    );
    t.tick();
    await auto.runNow(); // joins the tick's run
    expect(calls).toBe(1);
    t.tick();
    await auto.runNow();
    expect(calls).toBe(2);
    expect(outcomes).toEqual([{ result }, { result }]);
    auto.stop();
    expect(t.armed).toBe(false);
  });

  it('never overlaps: a call during a run joins it', async () => {
    let release!: () => void;
    let calls = 0;
    const auto = startAutoSync(
      {
        syncNow: () => {
          calls++;
          return new Promise<SyncResultDto>((resolve) => (release = () => resolve(result)));
        },
      },
      { intervalMs: 0 },
    );
    const a = auto.runNow();
    const b = auto.runNow();
    expect(auto.running).toBe(true);
    release();
    await expect(Promise.all([a, b])).resolves.toEqual([result, result]);
    expect(calls).toBe(1);
    expect(auto.running).toBe(false);
  });

  it('a failed run resolves undefined and hands the error to onDone', async () => {
    const failure = Object.assign(new Error('offline'), { code: 'REMOTE_UNREACHABLE' });
    const outcomes: unknown[] = [];
    const auto = startAutoSync(
      {
        syncNow: async () => {
          throw failure;
        },
      },
      { intervalMs: 0, onDone: (o) => outcomes.push(o) },
    );
    await expect(auto.runNow()).resolves.toBeUndefined();
    expect(outcomes).toEqual([{ error: failure }]);
  });

  it('does nothing after stop()', async () => {
    let calls = 0;
    const auto = startAutoSync({ syncNow: async () => (calls++, result) }, { intervalMs: 0 });
    auto.stop();
    await expect(auto.runNow()).resolves.toBeUndefined();
    expect(calls).toBe(0);
  });
});
