import { describe, expect, it } from 'vitest';
import { CcsError, isCcsError } from '../../common/errors';
import { remoteConformance } from '../../test-support/remoteConformance';
import { MemoryRemote } from '../memory/MemoryRemote';
import type { ObjectInfo, PutOptions, Remote } from '../remote';
import { RetryingRemote, type RetryOptions } from './RetryingRemote';
import { isTransient, mayHaveBeenApplied, transientError } from './transient';

remoteConformance('memory + retry', async () => ({
  remote: new RetryingRemote(new MemoryRemote(), { sleep: async () => undefined }),
  cleanup: async () => undefined,
}));

type Step = { error: unknown; applyFirst?: boolean };

/** A memory remote whose next calls fail as scripted; `applyFirst` performs the call, then fails. */
class ScriptedRemote implements Remote {
  readonly description = 'mem://scripted';
  readonly store = new MemoryRemote('mem://scripted');
  readonly calls: string[] = [];
  script: Step[] = [];
  conditionalWrites?: () => Promise<'emulated'>;

  check(): Promise<void> {
    return this.call('check', () => this.store.check());
  }
  create(): Promise<void> {
    return this.call('create', () => this.store.create());
  }
  put(name: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return this.call('put', () => this.store.put(name, data, options));
  }
  get(name: string): Promise<Buffer> {
    return this.call('get', () => this.store.get(name));
  }
  getRange(name: string, offset: number, length: number): Promise<Buffer> {
    return this.call('getRange', () => this.store.getRange(name, offset, length));
  }
  stat(name: string): Promise<ObjectInfo | null> {
    return this.call('stat', () => this.store.stat(name));
  }
  list(prefix: string): Promise<ObjectInfo[]> {
    return this.call('list', () => this.store.list(prefix));
  }
  delete(name: string): Promise<void> {
    return this.call('delete', () => this.store.delete(name));
  }

  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    this.calls.push(op);
    const step = this.script.shift();
    if (step === undefined) return fn();
    if (step.applyFirst) await fn();
    throw step.error;
  }
}

function fakeTime(): { sleeps: number[]; now: () => number; options: RetryOptions } {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    options: {
      sleep: async (ms) => {
        sleeps.push(ms);
        t += ms;
      },
      now: () => t,
      random: () => 0.5,
    },
  };
}

const reset = (): CcsError => transientError('connection reset', { maybeApplied: true });
const neverSent = (): CcsError => transientError('connect timeout', { maybeApplied: false });

async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (isCcsError(e) ? e.code : `non-CcsError: ${String(e)}`),
  );
}

describe('RetryingRemote', () => {
  it('retries transient failures with exponential backoff and jitter, then succeeds', async () => {
    const inner = new ScriptedRemote();
    await inner.store.put('a', Buffer.from('x'));
    inner.script = [{ error: reset() }, { error: reset() }, { error: reset() }];
    const time = fakeTime();
    const retries: number[] = [];
    const r = new RetryingRemote(inner, { ...time.options, baseDelayMs: 100, onRetry: (i) => retries.push(i.attempt) });
    expect(await r.get('a')).toEqual(Buffer.from('x'));
    expect(inner.calls).toEqual(['get', 'get', 'get', 'get']);
    // random() = 0.5 gives three quarters of each ceiling: 100, 200, 400.
    expect(time.sleeps).toEqual([75, 150, 300]);
    expect(retries).toEqual([1, 2, 3]);
  });

  it('keeps every delay between half and all of the backoff ceiling, capped', async () => {
    for (const random of [0, 0.999999]) {
      const inner = new ScriptedRemote();
      inner.script = Array.from({ length: 9 }, () => ({ error: reset() }));
      const time = fakeTime();
      const r = new RetryingRemote(inner, { ...time.options, random: () => random, attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 });
      await r.list('');
      const ceilings = [100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000];
      time.sleeps.forEach((ms, i) => {
        expect(ms).toBeGreaterThanOrEqual(ceilings[i]! / 2);
        expect(ms).toBeLessThanOrEqual(ceilings[i]!);
      });
    }
  });

  it('gives up after the configured attempts with a transient error that says so', async () => {
    const inner = new ScriptedRemote();
    inner.script = Array.from({ length: 10 }, () => ({ error: reset() }));
    const r = new RetryingRemote(inner, { ...fakeTime().options, attempts: 4 });
    const err = await r.stat('a').catch((e: unknown) => e);
    expect(isCcsError(err, 'REMOTE_UNREACHABLE')).toBe(true);
    expect((err as Error).message).toMatch(/connection reset \(gave up after 4 attempts\)/);
    expect(isTransient(err)).toBe(true);
    expect(inner.calls).toHaveLength(4);
  });

  it('stops when the time budget would be exceeded', async () => {
    const inner = new ScriptedRemote();
    inner.script = Array.from({ length: 20 }, () => ({ error: reset() }));
    const time = fakeTime();
    const r = new RetryingRemote(inner, { ...time.options, attempts: 20, baseDelayMs: 1000, maxDelayMs: 60_000, maxElapsedMs: 10_000 });
    expect(await outcome(r.check())).toBe('REMOTE_UNREACHABLE');
    // 750 + 1500 + 3000 = 5250; the next (6000) would end after 10 s.
    expect(time.sleeps).toEqual([750, 1500, 3000]);
  });

  it.each([
    ['authentication', new CcsError('REMOTE_UNREACHABLE', 'authentication failed (HTTP 401)')],
    ['connection refused', new CcsError('REMOTE_UNREACHABLE', 'cannot connect: connection refused')],
    ['a missing store', new CcsError('REMOTE_NOT_FOUND', 'gone')],
    ['a missing object', new CcsError('OBJECT_MISSING', 'missing')],
    ['a corrupt object', new CcsError('OBJECT_CORRUPT', 'short read')],
    ['ALREADY_EXISTS', new CcsError('ALREADY_EXISTS', 'exists')],
    ['a full disk', new CcsError('DISK_FULL', 'full')],
    ['a permission error with an errno cause', new CcsError('REMOTE_UNREACHABLE', 'denied', { cause: { code: 'EACCES' } })],
    ['a plain Error', new Error('invalid object name')],
  ])('never retries %s', async (_label, error) => {
    const inner = new ScriptedRemote();
    inner.script = [{ error }];
    const time = fakeTime();
    const r = new RetryingRemote(inner, time.options);
    const err = await r.get('a').catch((e: unknown) => e);
    expect(err).toBe(error);
    expect(inner.calls).toEqual(['get']);
    expect(time.sleeps).toEqual([]);
  });

  it.each([
    ['ECONNRESET', { code: 'ECONNRESET' }],
    ['a fetch TimeoutError', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
    ['an AWS SDK 503', { $metadata: { httpStatusCode: 503 } }],
    ['an AWS SDK retryable error', { $retryable: { throttling: true } }],
    ['a nested ETIMEDOUT', new Error('outer', { cause: { code: 'ETIMEDOUT' } })],
  ])('recognises an unmarked REMOTE_UNREACHABLE caused by %s as transient', async (_label, cause) => {
    const inner = new ScriptedRemote();
    inner.script = [{ error: new CcsError('REMOTE_UNREACHABLE', 'failed', { cause }) }];
    const r = new RetryingRemote(inner, fakeTime().options);
    await r.list('');
    expect(inner.calls).toEqual(['list', 'list']);
  });

  describe('createOnly after a lost response', () => {
    it('treats ALREADY_EXISTS with its own bytes as success', async () => {
      const inner = new ScriptedRemote();
      inner.script = [{ error: reset(), applyFirst: true }];
      const r = new RetryingRemote(inner, fakeTime().options);
      await r.put('log/1', Buffer.from('entry'), { createOnly: true });
      expect(inner.calls).toEqual(['put', 'put', 'get']);
      expect(await inner.store.get('log/1')).toEqual(Buffer.from('entry'));
    });

    it('still reports ALREADY_EXISTS when the stored bytes are someone else’s', async () => {
      const inner = new ScriptedRemote();
      await inner.store.put('log/1', Buffer.from('other'));
      inner.script = [{ error: reset() }];
      const r = new RetryingRemote(inner, fakeTime().options);
      expect(await outcome(r.put('log/1', Buffer.from('entry'), { createOnly: true }))).toBe('ALREADY_EXISTS');
      expect(await inner.store.get('log/1')).toEqual(Buffer.from('other'));
    });

    it('does not compare when no attempt can have been applied', async () => {
      const inner = new ScriptedRemote();
      await inner.store.put('log/1', Buffer.from('entry'));
      inner.script = [{ error: neverSent() }];
      const r = new RetryingRemote(inner, fakeTime().options);
      expect(await outcome(r.put('log/1', Buffer.from('entry'), { createOnly: true }))).toBe('ALREADY_EXISTS');
      expect(inner.calls).toEqual(['put', 'put']);
    });

    it('does not compare without a failed attempt: identical bytes are still ALREADY_EXISTS', async () => {
      const inner = new ScriptedRemote();
      await inner.store.put('log/1', Buffer.from('entry'));
      const r = new RetryingRemote(inner, fakeTime().options);
      expect(await outcome(r.put('log/1', Buffer.from('entry'), { createOnly: true }))).toBe('ALREADY_EXISTS');
      expect(inner.calls).toEqual(['put']);
    });

    it('reports the read failure when the stored bytes cannot be compared', async () => {
      const inner = new ScriptedRemote();
      inner.script = [
        { error: reset(), applyFirst: true },
        { error: new CcsError('ALREADY_EXISTS', 'exists') },
        { error: new CcsError('REMOTE_UNREACHABLE', 'authentication failed') },
      ];
      const r = new RetryingRemote(inner, fakeTime().options);
      const err = await r.put('log/1', Buffer.from('entry'), { createOnly: true }).catch((e: unknown) => e);
      expect((err as Error).message).toBe('authentication failed');
    });

    it('a plain put is simply retried', async () => {
      const inner = new ScriptedRemote();
      inner.script = [{ error: reset(), applyFirst: true }];
      const r = new RetryingRemote(inner, fakeTime().options);
      await r.put('index/1', Buffer.from('v2'));
      expect(inner.calls).toEqual(['put', 'put']);
    });
  });

  it('forwards conditionalWrites() when the inner remote has it', async () => {
    const inner = new ScriptedRemote();
    expect(await new RetryingRemote(inner).conditionalWrites()).toBeUndefined();
    inner.conditionalWrites = async () => 'emulated';
    expect(await new RetryingRemote(inner).conditionalWrites()).toBe('emulated');
  });

  it('has the inner description', () => {
    expect(new RetryingRemote(new MemoryRemote('mem://x')).description).toBe('mem://x');
  });
});

describe('transient errors', () => {
  it('are REMOTE_UNREACHABLE and remember whether they may have been applied', () => {
    const a = transientError('x', { maybeApplied: false });
    expect(isCcsError(a, 'REMOTE_UNREACHABLE')).toBe(true);
    expect(isTransient(a)).toBe(true);
    expect(mayHaveBeenApplied(a)).toBe(false);
    expect(mayHaveBeenApplied(transientError('y', { maybeApplied: true }))).toBe(true);
    // Unknown errors: assume the worst.
    expect(mayHaveBeenApplied(new CcsError('REMOTE_UNREACHABLE', 'z', { cause: { code: 'ECONNRESET' } }))).toBe(true);
    expect(isTransient(new CcsError('OBJECT_MISSING', 'm', { cause: { code: 'ECONNRESET' } }))).toBe(false);
  });
});
