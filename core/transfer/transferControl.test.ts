import { describe, expect, it } from 'vitest';
import { isCcsError } from '../common/errors';
import { FakeClock } from './fakeClock';
import { TokenBucket } from './tokenBucket';
import { TransferControl, type TransferState } from './transferControl';

/** Settles every queued continuation. */
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('TransferControl', () => {
  it('checkpoint passes at once while running, waits while paused, goes on after resume', async () => {
    const c = new TransferControl();
    await expect(c.checkpoint()).resolves.toBeUndefined();
    c.pause();
    expect(c.state).toBe('paused');
    let passed = 0;
    const waiters = [c.checkpoint().then(() => passed++), c.checkpoint().then(() => passed++)];
    await tick();
    expect(passed).toBe(0);
    c.resume();
    await Promise.all(waiters);
    expect(passed).toBe(2);
    expect(c.state).toBe('running');
  });

  it('cancel rejects waiting and later checkpoints with CANCELLED and the reason', async () => {
    const c = new TransferControl();
    c.pause();
    const waiting = c.checkpoint();
    c.cancel('stopped by the user');
    await expect(waiting).rejects.toSatisfy((e) => isCcsError(e, 'CANCELLED') && e.message === 'stopped by the user');
    await expect(c.checkpoint()).rejects.toSatisfy((e) => isCcsError(e, 'CANCELLED'));
    expect(() => c.throwIfCancelled()).toThrow(expect.objectContaining({ code: 'CANCELLED' }));
    expect(c.signal.aborted).toBe(true);
    expect(isCcsError(c.signal.reason, 'CANCELLED')).toBe(true);
    // Final: neither resume nor pause brings it back.
    c.resume();
    c.pause();
    expect(c.state).toBe('cancelled');
  });

  it('haltSignal aborts on pause (a pause reason) and on cancel (the error); a fresh one after resume', () => {
    const c = new TransferControl();
    const first = c.haltSignal;
    c.pause();
    expect(first.aborted).toBe(true);
    expect(TransferControl.isPause(first.reason)).toBe(true);
    c.resume();
    const second = c.haltSignal;
    expect(second).not.toBe(first);
    expect(second.aborted).toBe(false);
    c.cancel();
    expect(second.aborted).toBe(true);
    expect(TransferControl.isPause(second.reason)).toBe(false);
    expect(isCcsError(second.reason, 'CANCELLED')).toBe(true);
  });

  it('reports each state change once', () => {
    const c = new TransferControl();
    const seen: TransferState[] = [];
    const off = c.onChange((s) => seen.push(s));
    c.pause();
    c.pause();
    c.resume();
    c.resume();
    c.cancel();
    c.cancel();
    off();
    expect(seen).toEqual(['paused', 'running', 'cancelled']);
  });

  it('a pause takes a waiting transfer out of the bandwidth line', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ bytesPerSecond: 1000, burstBytes: 1000 }, clock);
    await bucket.take(1000); // empty
    const c = new TransferControl();
    const waiting = bucket.take(500, c.haltSignal);
    c.pause();
    await expect(waiting).rejects.toSatisfy((e) => TransferControl.isPause(e));
    expect(clock.pendingSleepers).toBe(0);
  });
});
