/**
 * Random interleavings of enqueue (single and batched, with dependencies and coalescing), claim,
 * complete, fail, release, retry, drop, time passing and crash-restarts. Seeded (FC_SEED replays a
 * failure). Checked after every step: no op runs before all its dependencies succeeded, a done op
 * never runs again, two ops of one coalesce key never run at once, and the stored bookkeeping
 * (waiting counts, blocked states, acyclicity) is consistent. At the end the queue must drain:
 * nothing stays pending forever.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { isCcsError } from '../common/errors';
import { assertProperty } from '../test-support/fc';
import { openTempQueue, type QueueFixture } from './queueFixture';
import type { SqliteQueue } from './SqliteQueue';
import type { OpSpec } from './types';

const RUNS = Number(process.env.QUEUE_PROPERTY_RUNS ?? 60);

type Action =
  | { t: 'enqueue'; deps: number[]; key: number | null; priority: number }
  | { t: 'batch'; ops: { deps: number[]; inBatch: number[]; key: number | null }[] }
  | { t: 'claim'; n: number }
  | { t: 'complete'; pick: number }
  | { t: 'fail'; pick: number; permanent: boolean }
  | { t: 'release'; pick: number }
  | { t: 'retry'; pick: number }
  | { t: 'drop'; pick: number }
  | { t: 'tick'; ms: number }
  | { t: 'restart' };

const key = fc.option(fc.integer({ min: 0, max: 3 }), { nil: null });
const picks = fc.array(fc.nat(1000), { maxLength: 3 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('enqueue' as const), deps: picks, key, priority: fc.integer({ min: 0, max: 2 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('batch' as const),
      ops: fc.array(fc.record({ deps: picks, inBatch: fc.array(fc.nat(10), { maxLength: 2 }), key }), { minLength: 1, maxLength: 5 }),
    }),
  },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('claim' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('complete' as const), pick: fc.nat(1000) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('fail' as const), pick: fc.nat(1000), permanent: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('release' as const), pick: fc.nat(1000) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('retry' as const), pick: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drop' as const), pick: fc.nat(1000) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 120_000 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'restart' as const }) },
);

class Model {
  /** What each op must wait for, as the caller asked (unioned when coalesced). */
  readonly deps = new Map<number, Set<number>>();
  readonly ids: number[] = [];
  readonly done = new Set<number>();
  readonly running = new Set<number>();

  constructor(private readonly queue: () => SqliteQueue) {}

  record(id: number, deps: number[]): void {
    if (!this.deps.has(id)) {
      this.deps.set(id, new Set());
      this.ids.push(id);
    }
    for (const d of deps) this.deps.get(id)!.add(d);
  }

  /** The op now doing `id`'s work: supersession only ever hands work to an op of the same key. */
  resolve(id: number): number {
    let info = this.queue().get(id)!;
    while (info.mergedInto !== null) {
      const next = this.queue().get(info.mergedInto)!;
      expect(next.coalesceKey).toBe(info.coalesceKey);
      info = next;
    }
    return info.id;
  }

  checkClaimed(claimed: { id: number; coalesceKey: string | null }[]): void {
    const keys = new Set([...this.running].map((id) => this.queue().get(id)!.coalesceKey).filter((k) => k !== null));
    for (const c of claimed) {
      expect(this.done.has(c.id), `op #${c.id} ran again after it was done`).toBe(false);
      for (const d of this.deps.get(c.id)!) {
        const r = this.resolve(d);
        expect(this.done.has(r), `op #${c.id} ran before its dependency #${d} (now #${r}) was done`).toBe(true);
      }
      if (c.coalesceKey !== null) {
        expect(keys.has(c.coalesceKey), `two ops of key ${c.coalesceKey} running`).toBe(false);
        keys.add(c.coalesceKey);
      }
      this.running.add(c.id);
    }
  }
}

function checkBookkeeping(q: SqliteQueue): void {
  const raw = q.db.raw;
  const badWaiting = raw
    .prepare(
      `SELECT o.id FROM ops o WHERE o.status <> 'done' AND o.waiting <>
         (SELECT count(*) FROM deps d JOIN ops x ON x.id = d.dep WHERE d.op = o.id AND x.status <> 'done')`,
    )
    .all();
  expect(badWaiting, 'waiting counts').toEqual([]);
  const unblockedButShouldBe = raw
    .prepare(
      `SELECT o.id FROM ops o WHERE o.status IN ('pending', 'running') AND EXISTS
         (SELECT 1 FROM deps d JOIN ops x ON x.id = d.dep WHERE d.op = o.id AND x.status IN ('failed', 'blocked', 'dropped'))`,
    )
    .all();
  expect(unblockedButShouldBe, 'runnable ops behind a failed dependency').toEqual([]);
  const blockedForNothing = raw
    .prepare(
      `SELECT o.id FROM ops o WHERE o.status = 'blocked' AND NOT EXISTS
         (SELECT 1 FROM deps d JOIN ops x ON x.id = d.dep WHERE d.op = o.id AND x.status IN ('failed', 'blocked', 'dropped'))`,
    )
    .all();
  expect(blockedForNothing, 'blocked ops with nothing blocking them').toEqual([]);
  const running = raw.prepare("SELECT o.id FROM ops o JOIN deps d ON d.op = o.id JOIN ops x ON x.id = d.dep WHERE o.status = 'running' AND x.status <> 'done'").all();
  expect(running, 'running ops with unfinished dependencies').toEqual([]);
  // Acyclic: repeatedly remove ops with no remaining dependencies.
  const edges = raw.prepare('SELECT op, dep FROM deps').all() as { op: number; dep: number }[];
  const indegree = new Map<number, number>();
  for (const e of edges) indegree.set(e.op, (indegree.get(e.op) ?? 0) + 1);
  const byDep = new Map<number, number[]>();
  for (const e of edges) byDep.set(e.dep, [...(byDep.get(e.dep) ?? []), e.op]);
  const ready = (raw.prepare('SELECT id FROM ops').all() as { id: number }[]).map((r) => r.id).filter((id) => !indegree.has(id));
  let removed = 0;
  while (ready.length > 0) {
    const id = ready.pop()!;
    removed++;
    for (const op of byDep.get(id) ?? []) {
      const n = indegree.get(op)! - 1;
      indegree.set(op, n);
      if (n === 0) ready.push(op);
    }
  }
  expect(removed, 'dependency graph has a cycle').toBe((raw.prepare('SELECT count(*) AS n FROM ops').get() as { n: number }).n);
}

function run(f: QueueFixture, actions: Action[]): void {
  const model = new Model(() => f.queue);
  const pickFrom = (xs: Iterable<number>, i: number): number | undefined => {
    const arr = [...xs];
    return arr.length === 0 ? undefined : arr[i % arr.length];
  };
  const depsFrom = (picked: number[]): number[] => (model.ids.length === 0 ? [] : [...new Set(picked.map((p) => model.ids[p % model.ids.length]!))]);
  const tolerateUsage = (fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      if (!isCcsError(e, 'USAGE')) throw e;
    }
  };

  for (const a of actions) {
    const q = f.queue;
    switch (a.t) {
      case 'enqueue': {
        const deps = depsFrom(a.deps);
        const r = q.enqueue({ kind: 'k', item: `i${model.ids.length}`, payload: model.ids.length }, { dependsOn: deps, priority: a.priority, ...(a.key === null ? {} : { coalesceKey: `key${a.key}` }) });
        model.record(r.id, deps);
        break;
      }
      case 'batch': {
        const existing = a.ops.map((o) => depsFrom(o.deps));
        const specs: OpSpec[] = a.ops.map((o, i) => ({
          kind: 'k',
          item: `b${i}`,
          // Only earlier batch ops (no cycles here; cycles are tested on their own).
          dependsOn: [...existing[i]!, ...o.inBatch.filter((j) => j < i).map((j) => ({ batch: j }))],
          ...(o.key === null ? {} : { coalesceKey: `key${o.key}` }),
        }));
        const results = q.enqueueMany(specs);
        results.forEach((r, i) => {
          const batchDeps = a.ops[i]!.inBatch.filter((j) => j < i).map((j) => results[j]!.id);
          model.record(r.id, [...existing[i]!, ...batchDeps]);
        });
        break;
      }
      case 'claim':
        model.checkClaimed(q.claim(a.n));
        break;
      case 'complete': {
        const id = pickFrom(model.running, a.pick);
        if (id === undefined) break;
        model.running.delete(id);
        if (q.complete(id)) model.done.add(id);
        break;
      }
      case 'fail': {
        const id = pickFrom(model.running, a.pick);
        if (id === undefined) break;
        model.running.delete(id);
        q.fail(id, 'random failure', { permanent: a.permanent });
        break;
      }
      case 'release': {
        const id = pickFrom(model.running, a.pick);
        if (id === undefined) break;
        model.running.delete(id);
        q.release(id);
        break;
      }
      case 'retry': {
        const id = pickFrom(model.ids, a.pick);
        if (id !== undefined) tolerateUsage(() => q.retry(id));
        break;
      }
      case 'drop': {
        const id = pickFrom(model.ids, a.pick);
        if (id === undefined) break;
        if (q.drop(id)) model.running.delete(id);
        break;
      }
      case 'tick':
        f.time.now += a.ms;
        break;
      case 'restart':
        f.reopen();
        model.running.clear();
        break;
    }
    checkBookkeeping(f.queue);
  }

  // Drain: everything still pending must eventually run.
  for (const id of model.running) if (f.queue.complete(id)) model.done.add(id);
  model.running.clear();
  for (let round = 0; round < 10_000; round++) {
    f.time.now += 3_600_000;
    const claimed = f.queue.claim(100);
    if (claimed.length === 0) break;
    model.checkClaimed(claimed);
    for (const c of claimed) if (f.queue.complete(c.id)) model.done.add(c.id);
    model.running.clear();
  }
  const { byStatus } = f.queue.stats();
  expect(byStatus.pending, 'ops stuck pending after draining').toBe(0);
  expect(byStatus.running).toBe(0);
  checkBookkeeping(f.queue);
}

it('never runs an op before its dependencies are done, under random interleavings (seeded)', async () => {
  await assertProperty(
    fc.property(fc.array(action, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (actions, seed) => {
      let s = seed;
      const f = openTempQueue({
        durability: 'crash-only', // the property is about logic; fsyncs only slow it down
        random: () => ((s = (s * 48271) % 2147483647) / 2147483647) * 0.999999,
        backoff: { maxAttempts: 3 },
      });
      try {
        run(f, actions);
      } finally {
        f.cleanup();
      }
    }),
    RUNS,
  );
});
