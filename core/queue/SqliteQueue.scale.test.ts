import { afterEach, expect, it } from 'vitest';
import { openTempQueue, seededRandom, type QueueFixture } from './queueFixture';

let f: QueueFixture | undefined;
afterEach(() => f?.cleanup());

it('drains 100,000 ops enqueued in batches in priority, then FIFO, order', () => {
  f = openTempQueue();
  const q = f.queue;
  const random = seededRandom(7);
  const N = 100_000;
  const BATCH = 5_000;
  const t0 = performance.now();
  const priorityOf = new Map<number, number>();
  for (let start = 0; start < N; start += BATCH) {
    const specs = Array.from({ length: BATCH }, (_, i) => ({
      kind: 'upload',
      item: `dir/file-${start + i}.json`,
      payload: { n: start + i },
      priority: Math.floor(random() * 4),
    }));
    q.enqueueMany(specs).forEach((r, i) => priorityOf.set(r.id, specs[i]!.priority));
  }
  const enqueued = performance.now();

  const drained: number[] = [];
  for (;;) {
    const ops = q.claim(1_000);
    if (ops.length === 0) break;
    for (const o of ops) drained.push(o.id);
    expect(q.completeMany(ops.map((o) => o.id))).toBe(ops.length);
  }
  const done = performance.now();

  const expected = [...priorityOf.keys()].sort((a, b) => priorityOf.get(b)! - priorityOf.get(a)! || a - b);
  expect(drained).toHaveLength(N);
  expect(drained).toEqual(expected);
  expect(q.stats().byStatus.done).toBe(N);
  const seconds = (done - t0) / 1000;
  console.log(`100,000 ops: enqueue ${((enqueued - t0) / 1000).toFixed(2)} s, drain ${((done - enqueued) / 1000).toFixed(2)} s`);
  // Generous for a shared 2-core CI machine; locally this takes a few seconds.
  expect(seconds).toBeLessThan(60);
});
