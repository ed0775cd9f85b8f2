import { describe, expect, it } from 'vitest';
import { isCcsError } from '../../common/errors';
import { remoteConformance } from '../../test-support/remoteConformance';
import { FakeClock } from '../../transfer/fakeClock';
import { TokenBucket } from '../../transfer/tokenBucket';
import { TransferControl } from '../../transfer/transferControl';
import { MemoryRemote } from '../memory/MemoryRemote';
import type { PutOptions } from '../remote';
import { ThrottledRemote, rateOrInfinity, type TransferDirection } from './ThrottledRemote';

const KiB = 1024;
const MiB = 1024 * KiB;

remoteConformance('memory + throttle (no limit, with a control)', async () => ({
  remote: new ThrottledRemote(new MemoryRemote(), { control: new TransferControl() }),
  cleanup: async () => undefined,
}));

remoteConformance('memory + throttle (1 GB/s, 4 KiB slices)', async () => ({
  remote: new ThrottledRemote(new MemoryRemote(), { bytesPerSecond: 1e9, sliceBytes: 4 * KiB }),
  cleanup: async () => undefined,
}));

/** A memory remote that records what reached it, and when (on the fake clock). */
class RecordingRemote extends MemoryRemote {
  readonly puts: { name: string; data: Uint8Array; at: number }[] = [];
  constructor(private readonly clock: FakeClock) {
    super();
  }
  override async put(name: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    this.puts.push({ name, data, at: this.clock.now() });
    return super.put(name, data, options);
  }
}

function setup(bytesPerSecond: number | null, opts: { burstBytes?: number; control?: TransferControl } = {}) {
  const clock = new FakeClock();
  const inner = new RecordingRemote(clock);
  const bucket = new TokenBucket({ bytesPerSecond: rateOrInfinity(bytesPerSecond), ...(opts.burstBytes ? { burstBytes: opts.burstBytes } : {}) }, clock);
  const moved = { up: 0, down: 0, slices: [] as number[] };
  const onBytes = (d: TransferDirection, n: number) => {
    moved[d] += n;
    moved.slices.push(n);
  };
  const remote = new ThrottledRemote(inner, { bucket, onBytes, ...(opts.control ? { control: opts.control } : {}) });
  return { clock, inner, bucket, remote, moved };
}

/** Advances the fake clock in 100 ms steps. */
async function run(clock: FakeClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) await clock.advance(100);
}

describe('ThrottledRemote', () => {
  it('caps the total of concurrent uploads with one shared bucket, in 64 KiB slices', async () => {
    const { clock, remote, moved, inner } = setup(1 * MiB);
    // burst = 256 KiB (a quarter second)
    const data = [0, 1, 2].map(() => new Uint8Array(2 * MiB));
    const done = data.map((d, i) => remote.put(`data/p${i}`, d));
    await run(clock, 2000);
    // 2 s at 1 MiB/s plus the burst; far from the 6 MiB an unlimited remote would move at once.
    expect(moved.up).toBeGreaterThanOrEqual(2 * MiB);
    expect(moved.up).toBeLessThanOrEqual(2 * MiB + 256 * KiB + 64 * KiB);
    expect(new Set(moved.slices)).toEqual(new Set([64 * KiB]));
    // Paid for one after the other, in call order: the first is stored after ~1.75 s, the last after ~5.75 s.
    expect(inner.puts.map((p) => p.name)).toEqual(['data/p0']);
    await run(clock, 4000);
    await Promise.all(done);
    expect(moved.up).toBe(6 * MiB);
    expect(inner.puts.map((p) => p.name)).toEqual(['data/p0', 'data/p1', 'data/p2']);
    inner.puts.forEach((p, i) => expect(Math.abs(p.at - (1750 + 2000 * i))).toBeLessThanOrEqual(150));
    // No copies: the inner remote got the caller's buffers.
    for (const p of inner.puts) expect((data as Uint8Array[]).includes(p.data)).toBe(true);
  });

  it('applies a rate change at once to transfers already running; null lifts the limit', async () => {
    const { clock, remote, moved } = setup(100 * KiB, { burstBytes: 64 * KiB });
    const done = remote.put('data/big', new Uint8Array(10 * MiB));
    await run(clock, 2000);
    const slow = moved.up;
    expect(slow).toBeLessThanOrEqual(200 * KiB + 64 * KiB + 64 * KiB);
    remote.setRate(1 * MiB);
    expect(remote.bytesPerSecond).toBe(1 * MiB);
    await run(clock, 2000);
    const fast = moved.up - slow;
    expect(fast).toBeGreaterThanOrEqual(2 * MiB - 64 * KiB);
    expect(fast).toBeLessThanOrEqual(2 * MiB + 256 * KiB + 64 * KiB);
    remote.setRate(null);
    expect(remote.bytesPerSecond).toBeNull();
    await clock.advance(1);
    await done;
    expect(moved.up).toBe(10 * MiB);
  });

  it('meters downloads: a range before it is requested, a whole object after it arrived', async () => {
    const { clock, remote, moved, inner } = setup(1 * MiB, { burstBytes: 64 * KiB });
    await inner.put('data/x', new Uint8Array(512 * KiB).fill(7));
    let got: Buffer | null = null;
    void remote.getRange('data/x', 0, 256 * KiB).then((b) => (got = b));
    await clock.advance(100);
    expect(got).toBeNull();
    await run(clock, 300);
    expect(got!.length).toBe(256 * KiB);
    expect(moved.down).toBe(256 * KiB);
    let whole: Buffer | null = null;
    void remote.get('data/x').then((b) => (whole = b));
    await run(clock, 600);
    expect(whole).not.toBeNull();
    expect(moved.down).toBe(768 * KiB);
    expect(moved.up).toBe(0);
  });

  it('without a limit a transfer is one step, whatever its size', async () => {
    const { remote, moved } = setup(null);
    await remote.put('data/a', new Uint8Array(3 * MiB));
    await remote.getRange('data/a', 0, 2 * MiB);
    expect(moved.slices).toEqual([3 * MiB, 2 * MiB]);
  });

  it('pause stops every transfer at its next slice; resume goes on where it stopped', async () => {
    const control = new TransferControl();
    const { clock, remote, moved, inner } = setup(1 * MiB, { control, burstBytes: 64 * KiB });
    const done = remote.put('data/a', new Uint8Array(1 * MiB));
    await run(clock, 500);
    control.pause();
    await clock.advance(0);
    const atPause = moved.up;
    expect(atPause).toBeGreaterThan(0);
    await run(clock, 3000);
    expect(moved.up).toBe(atPause);
    // Other calls wait too.
    let listed = false;
    void remote.list('').then(() => (listed = true));
    await clock.advance(100);
    expect(listed).toBe(false);
    expect(inner.puts).toHaveLength(0);
    control.resume();
    await run(clock, 1000);
    expect(listed).toBe(true);
    await done;
    expect(moved.up).toBe(1 * MiB);
  });

  it('cancel rejects running and later transfers with CANCELLED; nothing half-sent reaches the remote', async () => {
    const control = new TransferControl();
    const { clock, remote, inner } = setup(1 * MiB, { control, burstBytes: 64 * KiB });
    const a = remote.put('data/a', new Uint8Array(1 * MiB));
    const b = remote.put('data/c', new Uint8Array(1 * MiB));
    await run(clock, 300);
    control.cancel('stopped');
    await expect(a).rejects.toSatisfy((e) => isCcsError(e, 'CANCELLED'));
    await expect(b).rejects.toSatisfy((e) => isCcsError(e, 'CANCELLED'));
    await expect(remote.put('data/b', new Uint8Array(1))).rejects.toSatisfy((e) => isCcsError(e, 'CANCELLED'));
    await expect(remote.stat('data/a')).rejects.toSatisfy((e) => isCcsError(e, 'CANCELLED'));
    expect(inner.puts).toHaveLength(0);
    expect(clock.pendingSleepers).toBe(0);
  });

  it('rejects nonsense limits as USAGE', () => {
    for (const bad of [0, -1, NaN]) expect(() => rateOrInfinity(bad)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(rateOrInfinity(null)).toBe(Infinity);
    expect(rateOrInfinity(5e6)).toBe(5e6);
  });
});
