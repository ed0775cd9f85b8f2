/**
 * Queue throughput against raw better-sqlite3 at the same synchronous level. Bundled and run by
 * bench/queue.mjs; prints one JSON line per measurement.
 *
 * raw pair: one autocommit INSERT plus one autocommit UPDATE of that row (the least a durable
 * queue can do per op). Queue op: enqueue + claim + complete, single (one commit each) or batched
 * (enqueueMany / claim / completeMany of 1,000 ops per commit).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteQueue } from '../core/queue/SqliteQueue';
import type { Durability } from '../core/queue/types';

const KEY = Buffer.alloc(32, 7);
const PAYLOAD = { path: 'projects/demo/settings.json', size: 1234, contentId: 'ab'.repeat(32) };

function inTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ccs-queue-bench-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function raw(synchronous: 'NORMAL' | 'FULL', n: number): number {
  return inTempDir((dir) => {
    const db = new Database(join(dir, 'raw.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE q (id INTEGER PRIMARY KEY, payload BLOB NOT NULL, done INTEGER NOT NULL DEFAULT 0)');
    const insert = db.prepare('INSERT INTO q (payload) VALUES (?)');
    const update = db.prepare('UPDATE q SET done = 1 WHERE id = ?');
    // After preparing: preparing a PRAGMA statement applies it, so set the level last.
    db.pragma(`synchronous = ${synchronous}`);
    const payload = Buffer.from(JSON.stringify(PAYLOAD));
    const t0 = performance.now();
    for (let i = 0; i < n; i++) update.run(insert.run(payload).lastInsertRowid);
    const perSec = n / ((performance.now() - t0) / 1000);
    db.close();
    return perSec;
  });
}

function queueSingle(durability: Durability, n: number): number {
  return inTempDir((dir) => {
    const { queue } = SqliteQueue.open(join(dir, 'queue.db'), { key: KEY, durability });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      queue.enqueue({ kind: 'upload', item: `file-${i}`, payload: PAYLOAD });
      const op = queue.next();
      if (!op) throw new Error('nothing to claim');
      queue.complete(op.id);
    }
    const perSec = n / ((performance.now() - t0) / 1000);
    queue.close();
    return perSec;
  });
}

function queueBatched(durability: Durability, n: number, batch: number): number {
  return inTempDir((dir) => {
    const { queue } = SqliteQueue.open(join(dir, 'queue.db'), { key: KEY, durability });
    const t0 = performance.now();
    for (let done = 0; done < n; done += batch) {
      queue.enqueueMany(Array.from({ length: batch }, (_, i) => ({ kind: 'upload', item: `file-${done + i}`, payload: PAYLOAD })));
      const ops = queue.claim(batch);
      if (ops.length !== batch) throw new Error(`claimed ${ops.length} of ${batch}`);
      queue.completeMany(ops.map((o) => o.id));
    }
    const perSec = n / ((performance.now() - t0) / 1000);
    queue.close();
    return perSec;
  });
}

/** Median of interleaved rounds: the disk is shared and noisy, and neighbours drift over a run. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const rounds = Number(process.env.QUEUE_BENCH_ROUNDS ?? 5);
const cases: { name: string; unit: string; run: () => number }[] = [
  { name: 'raw WAL+NORMAL', unit: 'pairs/s', run: () => raw('NORMAL', 20_000) },
  { name: 'raw WAL+FULL', unit: 'pairs/s', run: () => raw('FULL', 2_000) },
  { name: 'queue single, crash-only (all NORMAL)', unit: 'ops/s', run: () => queueSingle('crash-only', 10_000) },
  { name: 'queue single, enqueues (default)', unit: 'ops/s', run: () => queueSingle('enqueues', 2_000) },
  { name: 'queue single, all (all FULL)', unit: 'ops/s', run: () => queueSingle('all', 1_000) },
  { name: 'queue batched ×1000, crash-only', unit: 'ops/s', run: () => queueBatched('crash-only', 50_000, 1_000) },
  { name: 'queue batched ×1000, enqueues (default)', unit: 'ops/s', run: () => queueBatched('enqueues', 50_000, 1_000) },
  { name: 'queue batched ×1000, all', unit: 'ops/s', run: () => queueBatched('all', 50_000, 1_000) },
];
const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let r = 0; r < rounds; r++) for (const c of cases) samples.get(c.name)!.push(c.run());
for (const c of cases) {
  const xs = samples.get(c.name)!;
  console.log(JSON.stringify({ name: c.name, unit: c.unit, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }));
}
