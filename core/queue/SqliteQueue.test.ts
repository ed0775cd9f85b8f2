import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCcsError } from '../common/errors';
import { openTempQueue, runUntilKilled, type QueueFixture } from './queueFixture';
import type { SqliteQueue } from './SqliteQueue';

let f: QueueFixture;
let q: SqliteQueue;
beforeEach(() => {
  f = openTempQueue();
  q = f.queue;
});
afterEach(() => f.cleanup());

const op = (item: string, payload: unknown = null) => ({ kind: 'upload', item, payload });
const ids = (ops: { id: number }[]) => ops.map((o) => o.id);
const statusOf = (id: number) => q.get(id)?.status;

describe('priorities', () => {
  it('claims higher priority first, then in enqueue order', () => {
    const a = q.enqueue(op('a'), { priority: 0 }).id;
    const b = q.enqueue(op('b'), { priority: 5 }).id;
    const c = q.enqueue(op('c'), { priority: 1 }).id;
    const d = q.enqueue(op('d'), { priority: 5 }).id;
    const e = q.enqueue(op('e'), { priority: 0 }).id;
    expect(ids(q.claim(10))).toEqual([b, d, c, a, e]);
  });

  it('next() claims one op at a time and counts the attempt', () => {
    q.enqueue(op('a'));
    q.enqueue(op('b'), { priority: 1 });
    const first = q.next()!;
    expect(first).toMatchObject({ item: 'b', attempt: 1 });
    expect(q.next()).toMatchObject({ item: 'a' });
    expect(q.next()).toBeNull();
    expect(q.get(first.id)).toMatchObject({ status: 'running', attempts: 1 });
  });

  it('raises what a high-priority op waits for, so it is not stuck behind low-priority work', () => {
    const filler = q.enqueueMany(Array.from({ length: 5 }, (_, i) => op(`filler-${i}`))).map((r) => r.id);
    const pack = q.enqueue(op('pack')).id;
    const entry = q.enqueue(op('log entry'), { priority: 10, dependsOn: [pack] }).id;
    expect(q.get(pack)!.priority).toBe(10);
    expect(q.next()!.id).toBe(pack);
    q.complete(pack);
    expect(q.next()!.id).toBe(entry);
    expect(ids(q.claim(10))).toEqual(filler);
  });
});

describe('dependencies', () => {
  it('runs a chain in order, each op only after the previous one succeeded', () => {
    const a = q.enqueue(op('a')).id;
    const b = q.enqueue(op('b'), { dependsOn: [a] }).id;
    const c = q.enqueue(op('c'), { dependsOn: [b] }).id;
    expect(ids(q.claim(10))).toEqual([a]);
    expect(q.claim(10)).toEqual([]);
    q.complete(a);
    expect(ids(q.claim(10))).toEqual([b]);
    q.complete(b);
    expect(ids(q.claim(10))).toEqual([c]);
    q.complete(c);
    expect(q.get(c)).toMatchObject({ status: 'done', dependsOn: [b] });
  });

  it('waits for every dependency, and a dependency already done counts as met', () => {
    const a = q.enqueue(op('a')).id;
    q.complete(q.next()!.id);
    const b = q.enqueue(op('b')).id;
    const c = q.enqueue(op('c'), { dependsOn: [a, b] }).id;
    expect(ids(q.claim(10))).toEqual([b]);
    q.complete(b);
    expect(ids(q.claim(10))).toEqual([c]);
  });

  it('a transient failure of a dependency keeps its dependents waiting, not blocked', () => {
    const a = q.enqueue(op('a')).id;
    const b = q.enqueue(op('b'), { dependsOn: [a] }).id;
    q.next();
    expect(q.fail(a, new Error('timeout'))).toBe('rescheduled');
    expect(statusOf(b)).toBe('pending');
  });

  it('a failed dependency blocks its dependents (transitively) with the reason; it is never treated as met', () => {
    const a = q.enqueue(op('a')).id;
    const b = q.enqueue(op('b'), { dependsOn: [a] }).id;
    const c = q.enqueue(op('c'), { dependsOn: [b] }).id;
    const other = q.enqueue(op('other')).id;
    q.claim(1);
    expect(q.fail(a, new Error('403 Forbidden'), { permanent: true })).toBe('failed');
    expect(q.get(a)).toMatchObject({ status: 'failed', lastError: '403 Forbidden' });
    for (const id of [b, c]) {
      expect(q.get(id)!.status).toBe('blocked');
      expect(q.get(id)!.lastError).toBe(`dependency #${a} (upload a) failed: 403 Forbidden`);
    }
    expect(ids(q.claim(10))).toEqual([other]);
    q.complete(other);
    expect(q.claim(10)).toEqual([]);
    expect(q.stats().byStatus).toMatchObject({ failed: 1, blocked: 2, done: 1, pending: 0 });
  });

  it('running out of attempts fails the op and blocks its dependents', () => {
    const a = q.enqueue(op('a'), { maxAttempts: 2 }).id;
    const b = q.enqueue(op('b'), { dependsOn: [a] }).id;
    q.next();
    expect(q.fail(a, 'boom')).toBe('rescheduled');
    f.time.now += 60_000;
    q.next();
    expect(q.fail(a, 'boom')).toBe('failed');
    expect(q.get(a)!.lastError).toBe('boom (gave up after 2 attempts)');
    expect(statusOf(b)).toBe('blocked');
  });

  it('an op enqueued on a failed dependency starts blocked', () => {
    const a = q.enqueue(op('a')).id;
    q.next();
    q.fail(a, 'no', { permanent: true });
    const b = q.enqueue(op('b'), { dependsOn: [a] }).id;
    expect(q.get(b)).toMatchObject({ status: 'blocked', lastError: `dependency #${a} (upload a) failed: no` });
  });

  it('retry of the failed op unblocks dependents blocked only by it; others stay blocked with the remaining reason', () => {
    const a = q.enqueue(op('a')).id;
    const x = q.enqueue(op('x')).id;
    const b = q.enqueue(op('b'), { dependsOn: [a] }).id;
    const c = q.enqueue(op('c'), { dependsOn: [a, x] }).id;
    const d = q.enqueue(op('d'), { dependsOn: [b] }).id;
    q.claim(2);
    q.fail(a, 'a broke', { permanent: true });
    q.fail(x, 'x broke', { permanent: true });
    expect([b, c, d].map(statusOf)).toEqual(['blocked', 'blocked', 'blocked']);

    expect(q.retry(a)).toBe(3); // a, b, d
    expect(q.get(a)).toMatchObject({ status: 'pending', attempts: 0, lastError: null });
    expect([b, d].map(statusOf)).toEqual(['pending', 'pending']);
    expect(q.get(c)).toMatchObject({ status: 'blocked', lastError: `dependency #${x} (upload x) failed` });

    expect(ids(q.claim(10))).toEqual([a]);
    q.complete(a);
    expect(ids(q.claim(10))).toEqual([b]);
  });

  it('retry of a blocked op retries what blocks it', () => {
    const a = q.enqueue(op('a')).id;
    const b = q.enqueue(op('b'), { dependsOn: [a] }).id;
    const c = q.enqueue(op('c'), { dependsOn: [b] }).id;
    q.next();
    q.fail(a, 'x', { permanent: true });
    q.retry(c);
    expect([a, b, c].map(statusOf)).toEqual(['pending', 'pending', 'pending']);
  });

  it('rejects a dependency cycle in a batch with a clear error, enqueueing nothing', () => {
    let error: unknown;
    try {
      q.enqueueMany([
        { ...op('a'), dependsOn: [{ batch: 2 }] },
        { ...op('b'), dependsOn: [{ batch: 0 }] },
        { ...op('c'), dependsOn: [{ batch: 1 }] },
      ]);
    } catch (e) {
      error = e;
    }
    expect(isCcsError(error, 'USAGE')).toBe(true);
    expect((error as Error).message).toMatch(/dependency cycle, nothing was enqueued: batch op 0 \(upload a\) → depends on 2 \(upload c\) → depends on 1 \(upload b\) → depends on 0 \(upload a\)/);
    expect(q.list()).toEqual([]);
    expect(() => q.enqueueMany([{ ...op('self'), dependsOn: [{ batch: 0 }] }])).toThrow(/cycle/);
  });

  it('accepts batch references in any order and inserts dependencies first', () => {
    const [log, pack] = q.enqueueMany([{ ...op('log'), dependsOn: [{ batch: 1 }] }, op('pack')]);
    expect(pack!.id).toBeLessThan(log!.id);
    expect(q.get(log!.id)!.dependsOn).toEqual([pack!.id]);
  });

  it('rejects unknown dependencies and bad batch references', () => {
    expect(() => q.enqueue(op('a'), { dependsOn: [999] })).toThrow(/#999 does not exist/);
    expect(() => q.enqueueMany([{ ...op('a'), dependsOn: [{ batch: 3 }] }])).toThrow(/not in the batch/);
  });

  it("dropping an op blocks its dependents; its executor's late complete is a no-op", () => {
    const a = q.enqueue(op('a')).id;
    const b = q.enqueue(op('b'), { dependsOn: [a] }).id;
    q.next();
    expect(q.drop(a)).toBe(true);
    expect(q.get(b)).toMatchObject({ status: 'blocked', lastError: `dependency #${a} (upload a) was dropped` });
    expect(q.complete(a)).toBe(false);
    expect(q.fail(a, 'late')).toBe('ignored');
    expect(statusOf(a)).toBe('dropped');
    expect(q.drop(a)).toBe(false);
    q.retry(b); // revives the dropped op
    expect([a, b].map(statusOf)).toEqual(['pending', 'pending']);
  });
});

describe('backoff', () => {
  it('reschedules with exponential, fully jittered delays capped at capMs', () => {
    f.reopen({ random: () => 0.999999, backoff: { baseMs: 1000, capMs: 10_000, maxAttempts: 10 } });
    q = f.queue;
    const a = q.enqueue(op('a')).id;
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 6; attempt++) {
      expect(q.next()!.attempt).toBe(attempt);
      q.fail(a, 'timeout');
      const due = q.get(a)!.nextAttemptAt;
      delays.push(due - f.time.now);
      f.time.now = due - 1;
      expect(q.next()).toBeNull();
      f.time.now = due;
    }
    expect(delays).toEqual([999, 1999, 3999, 7999, 9999, 9999]);
  });

  it('draws every delay in [0, ceiling) from the injected random source', () => {
    const draws = [0, 0.25, 0.5, 0.75];
    let i = 0;
    f.reopen({ random: () => draws[i++ % draws.length]!, backoff: { baseMs: 1000, capMs: 60_000 } });
    q = f.queue;
    const a = q.enqueue(op('a')).id;
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      q.next(f.time.now + 1e9);
      q.fail(a, 'x');
      delays.push(q.get(a)!.nextAttemptAt - f.time.now);
    }
    expect(delays).toEqual([0, 500, 2000, 6000]); // 0×1000, 0.25×2000, 0.5×4000, 0.75×8000
  });

  it('waits at least a server-given Retry-After', () => {
    const a = q.enqueue(op('a')).id;
    q.next();
    q.fail(a, '503', { retryAfterMs: 30_000 });
    expect(q.get(a)!.nextAttemptAt).toBe(f.time.now + 30_000);
    expect(q.stats()).toMatchObject({ ready: 0, nextAttemptAt: f.time.now + 30_000 });
  });

  it('release gives an op back without counting the attempt; wakeAll and retry skip the wait', () => {
    const a = q.enqueue(op('a')).id;
    q.next();
    expect(q.release(a, 5000)).toBe(true);
    expect(q.get(a)).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: f.time.now + 5000 });
    expect(q.wakeAll()).toBe(1);
    expect(q.next()!.attempt).toBe(1);
    q.fail(a, 'x', { retryAfterMs: 60_000 });
    q.retry(a);
    expect(q.next()!.id).toBe(a);
  });
});

describe('coalescing', () => {
  it('ten enqueues of one key while it is pending become one op with the newest payload', () => {
    const results = Array.from({ length: 10 }, (_, i) => q.enqueue(op('notes.md', { version: i + 1 }), { coalesceKey: 'upload:notes.md' }));
    expect(results.map((r) => r.outcome)).toEqual(['added', ...Array<string>(9).fill('coalesced')]);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(new Set(results.map((r) => r.idempotencyKey)).size).toBe(10); // the content changed each time
    expect(q.list()).toHaveLength(1);
    const [claimed] = q.claim(10);
    expect(claimed).toMatchObject({ id: results[0]!.id, payload: { version: 10 }, idempotencyKey: results[9]!.idempotencyKey });
  });

  it('the newest kind and item win, priority is the highest, dependents keep pointing at the op', () => {
    const a = q.enqueue(op('a'), { coalesceKey: 'k' }).id;
    const dependent = q.enqueue(op('after'), { dependsOn: [a] }).id;
    q.enqueue({ kind: 'delete', item: 'a2', payload: 'gone' }, { coalesceKey: 'k', priority: 3 });
    expect(q.get(a)).toMatchObject({ kind: 'delete', item: 'a2', priority: 3 });
    q.complete(q.next()!.id);
    expect(q.next()!.id).toBe(dependent);
  });

  it('never merges into a running op, and never runs two ops of one key at once', () => {
    const v1 = q.enqueue(op('f', 1), { coalesceKey: 'k' }).id;
    q.next();
    const v2 = q.enqueue(op('f', 2), { coalesceKey: 'k' });
    expect(v2).toMatchObject({ outcome: 'added' });
    expect(q.claim(10)).toEqual([]);
    q.complete(v1);
    expect(q.next()).toMatchObject({ id: v2.id, payload: 2 });
  });

  it('a running op that fails after a newer version was queued is superseded; its dependents wait for the newer one', () => {
    const v1 = q.enqueue(op('f', 1), { coalesceKey: 'k' }).id;
    const after = q.enqueue(op('after'), { dependsOn: [v1] }).id;
    q.next();
    const v2 = q.enqueue(op('f', 2), { coalesceKey: 'k' }).id;
    expect(q.fail(v1, 'timeout')).toBe('rescheduled');
    expect(q.get(v1)).toMatchObject({ status: 'dropped', mergedInto: v2, lastError: `superseded by #${v2}` });
    expect(q.get(after)!.dependsOn).toEqual([v2]);
    expect(ids(q.claim(10))).toEqual([v2]);
    q.complete(v2);
    expect(ids(q.claim(10))).toEqual([after]);
    // Depending on the superseded op means depending on the op that replaced it.
    expect(q.enqueue(op('later'), { dependsOn: [v1] }).outcome).toBe('added');
    expect(q.list().at(-1)!.dependsOn).toEqual([v2]);
  });

  it('retrying a dropped op that waits for an older op of its key does not hand its work to the older one', () => {
    const v1 = q.enqueue(op('f', 1), { coalesceKey: 'k' }).id;
    const v2 = q.enqueue(op('f', 2), { coalesceKey: 'k', dependsOn: [v1] }).id;
    q.drop(v2);
    q.retry(v2);
    expect(q.get(v2)).toMatchObject({ status: 'pending', mergedInto: null });
    expect(ids(q.claim(10))).toEqual([v1]);
    q.complete(v1);
    expect(q.next()).toMatchObject({ id: v2, payload: 2 });
  });

  it('does not merge when the new op must wait for the pending one; it runs after it instead', () => {
    const v1 = q.enqueue(op('f', 1), { coalesceKey: 'k' }).id;
    const mid = q.enqueue(op('mid'), { dependsOn: [v1] }).id;
    const v2 = q.enqueue(op('f', 2), { coalesceKey: 'k', dependsOn: [mid] });
    expect(v2.outcome).toBe('added');
    for (const expected of [v1, mid, v2.id]) {
      const [c] = q.claim(10);
      expect(c!.id).toBe(expected);
      q.complete(c!.id);
    }
  });

  it('a merged op that gains a failed dependency is blocked', () => {
    const bad = q.enqueue(op('bad')).id;
    q.next();
    q.fail(bad, 'nope', { permanent: true });
    const a = q.enqueue(op('a', 1), { coalesceKey: 'k' }).id;
    q.enqueue(op('a', 2), { coalesceKey: 'k', dependsOn: [bad] });
    expect(q.get(a)).toMatchObject({ status: 'blocked', dependsOn: [bad] });
  });
});

describe('idempotent replay', () => {
  it('completing twice changes nothing the second time (dependents are released once)', () => {
    const a = q.enqueue(op('a')).id;
    const b = q.enqueue(op('b')).id;
    const c = q.enqueue(op('c'), { dependsOn: [a, b] }).id;
    q.claim(2);
    expect(q.complete(a)).toBe(true);
    expect(q.complete(a)).toBe(false);
    expect(q.completeMany([a, a])).toBe(0);
    expect(q.claim(10)).toEqual([]); // c still waits for b
    expect(q.completeMany([b, b])).toBe(1);
    expect(ids(q.claim(10))).toEqual([c]);
    expect(q.fail(a, 'late failure')).toBe('ignored');
    expect(statusOf(a)).toBe('done');
  });

  it('keeps the idempotency key across retries and restarts', () => {
    const { id, idempotencyKey } = q.enqueue(op('a'));
    expect(q.next()!.idempotencyKey).toBe(idempotencyKey);
    q.fail(id, 'x');
    f.time.now += 3_600_000;
    expect(q.next()!.idempotencyKey).toBe(idempotencyKey);
    q = f.reopen().queue;
    f.time.now += 3_600_000;
    expect(q.next()).toMatchObject({ id, idempotencyKey, attempt: 3 });
  });

  it('completing an op that was pruned long ago is a no-op; completing one never claimed is a usage error', () => {
    const a = q.enqueue(op('a')).id;
    q.complete(q.next()!.id);
    q.enqueue(op('newest'));
    f.time.now += 1000;
    expect(q.prune(f.time.now)).toBe(1);
    expect(q.get(a)).toBeNull();
    expect(q.complete(a)).toBe(false);
    const pending = q.enqueue(op('p')).id;
    expect(() => q.complete(pending)).toThrow(/not running/);
  });

  it('prune never reuses ids and keeps dropped ops that still explain a blocked dependent', () => {
    const a = q.enqueue(op('a')).id;
    const b = q.enqueue(op('b'), { dependsOn: [a] }).id;
    q.drop(a);
    const last = q.enqueue(op('last')).id;
    q.complete(q.next()!.id);
    f.time.now += 1000;
    expect(q.prune(f.time.now)).toBe(0); // `last` is the newest row; `a` explains b
    expect(statusOf(a)).toBe('dropped');
    expect(q.enqueue(op('next')).id).toBe(last + 1);
    expect(statusOf(b)).toBe('blocked');
  });
});

describe('crash recovery', () => {
  it('ops left running go back to pending on open, the interrupted attempt counted', () => {
    const a = q.enqueue(op('a', { n: 1 })).id;
    const b = q.enqueue(op('b', { n: 2 })).id;
    const c = q.enqueue(op('c', { n: 3 }), { dependsOn: [a] }).id;
    q.claim(2);
    q.close(); // no complete: as if killed

    q = f.reopen().queue;
    expect(q.get(a)).toMatchObject({ status: 'pending', attempts: 1, lastError: 'interrupted: ccsync stopped while this op ran' });
    expect(statusOf(b)).toBe('pending');
    expect(statusOf(c)).toBe('pending');
    f.time.now += 60_000;
    const again = q.claim(10);
    expect(again.map((o) => [o.id, o.attempt, o.payload])).toEqual([
      [a, 2, { n: 1 }],
      [b, 2, { n: 2 }],
    ]);
  });

  it('after kill -9: every acknowledged enqueue is there, ops that were running are pending again', async () => {
    q.close();
    await runUntilKilled(`
      import { SqliteQueue } from './SqliteQueue';
      const { queue } = SqliteQueue.open(${JSON.stringify(f.file)}, { key: Buffer.alloc(32, 0x5a) });
      queue.enqueueMany([1, 2, 3].map((n) => ({ kind: 'upload', item: 'f' + n, payload: { n } })));
      queue.enqueue({ kind: 'upload', item: 'f4' }, { dependsOn: [1] });
      queue.claim(2);
      process.kill(process.pid, 'SIGKILL');
    `);
    q = f.reopen().queue;
    expect(q.list().map((o) => [o.item, o.status, o.attempts])).toEqual([
      ['f1', 'pending', 1],
      ['f2', 'pending', 1],
      ['f3', 'pending', 0],
      ['f4', 'pending', 0],
    ]);
    f.time.now = Date.now() + 3_600_000;
    expect(q.claim(10).map((o) => [o.item, o.attempt])).toEqual([
      ['f1', 2],
      ['f2', 2],
      ['f3', 1],
    ]);
  });

  it('an op that keeps dying with the process ends as failed instead of a crash loop', () => {
    f.reopen({ backoff: { maxAttempts: 2 } });
    q = f.queue;
    const a = q.enqueue(op('poison')).id;
    const b = q.enqueue(op('after'), { dependsOn: [a] }).id;
    for (let i = 0; i < 2; i++) {
      f.time.now += 3_600_000;
      expect(q.next()!.id).toBe(a);
      q.close();
      q = f.reopen({ backoff: { maxAttempts: 2 } }).queue;
    }
    expect(q.get(a)).toMatchObject({ status: 'failed', lastError: 'interrupted: ccsync stopped while this op ran (gave up after 2 attempts)' });
    expect(statusOf(b)).toBe('blocked');
  });

  it('an interrupted op is superseded by a newer version queued meanwhile', () => {
    const v1 = q.enqueue(op('f', 1), { coalesceKey: 'k' }).id;
    q.next();
    const v2 = q.enqueue(op('f', 2), { coalesceKey: 'k' }).id;
    q = f.reopen().queue;
    expect(q.get(v1)).toMatchObject({ status: 'dropped', mergedInto: v2 });
    expect(q.next()).toMatchObject({ id: v2, payload: 2 });
  });
});

describe('reading', () => {
  it('lists without payloads, filters by status, and counts', () => {
    const a = q.enqueue(op('a', { token: 'secret' })).id;
    q.enqueue(op('b'), { dependsOn: [a] });
    q.next();
    const listed = q.list();
    expect(listed.map((o) => [o.item, o.status, o.dependsOn])).toEqual([
      ['a', 'running', []],
      ['b', 'pending', [a]],
    ]);
    expect(JSON.stringify(listed)).not.toContain('secret');
    expect(q.list({ status: 'pending' }).map((o) => o.item)).toEqual(['b']);
    expect(q.list({ limit: 1, afterId: a }).map((o) => o.item)).toEqual(['b']);
    expect(q.stats()).toEqual({
      byStatus: { pending: 1, running: 1, done: 0, failed: 0, blocked: 0, dropped: 0 },
      ready: 0,
      nextAttemptAt: null,
    });
  });

  it('validates what it is given', () => {
    expect(() => q.enqueue({ kind: '', item: 'x' })).toThrow(/kind/);
    expect(() => q.enqueue(op('x'), { priority: 1.5 })).toThrow(/priority/);
    expect(() => q.enqueue(op('x'), { maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => q.enqueue(op('x', () => 1))).toThrow(/JSON/);
    expect(() => q.retry(12345)).toThrow(/does not exist/);
  });
});
