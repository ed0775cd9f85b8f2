import { afterEach, describe, expect, it } from 'vitest';
import { openTempQueue, type QueueFixture } from './queueFixture';
import type { Durability } from './types';

let f: QueueFixture | undefined;
afterEach(() => f?.cleanup());

/** The synchronous level SQLite applied to the last commit of each call (0 off, 1 NORMAL, 2 FULL). */
function levels(durability: Durability): Record<string, number> {
  f = openTempQueue({ durability });
  const q = f.queue;
  const level = () => q.db.raw.pragma('synchronous', { simple: true }) as number;
  const out: Record<string, number> = {};
  const a = q.enqueue({ kind: 'k', item: 'a' }).id;
  out.enqueue = level();
  q.claim(1);
  out.claim = level();
  q.enqueueMany([{ kind: 'k', item: 'b' }, { kind: 'k', item: 'c' }]);
  out.enqueueMany = level();
  q.fail(a, 'x', { permanent: true });
  out.fail = level();
  q.retry(a);
  out.retry = level();
  q.claim(1);
  q.complete(a);
  out.complete = level();
  q.drop(q.enqueue({ kind: 'k', item: 'd' }).id);
  out.drop = level();
  return out;
}

describe('synchronous level per commit', () => {
  it('enqueues: FULL for what acknowledges work or a decision, NORMAL for progress', () => {
    expect(levels('enqueues')).toEqual({ enqueue: 2, claim: 1, enqueueMany: 2, fail: 1, retry: 2, complete: 1, drop: 2 });
  });

  it('all: every commit FULL; crash-only: every commit NORMAL', () => {
    expect(new Set(Object.values(levels('all')))).toEqual(new Set([2]));
    f!.cleanup();
    expect(new Set(Object.values(levels('crash-only')))).toEqual(new Set([1]));
  });
});
