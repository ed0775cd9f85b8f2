/**
 * CRDT benchmarks: core/crdt side by side with Yjs and Automerge on the same workloads. Bundled and
 * run by bench/crdt.mjs, one process per scenario; prints one JSON line per measurement, plus
 * `progress` lines so a scenario stopped at its time limit can say how far it got.
 *
 * Map workload (the same for the three libraries), N keys:
 *   create   device 1 sets N keys in one change
 *   copy     device 2 receives device 1's state
 *   edit     concurrently: device 1 sets keys [0, N/10) and deletes [N/5, 3N/10); device 2 sets
 *            [N/20, 3N/20) (half of them also set by device 1: N/20 same-key conflicts) and deletes
 *            [3N/10, 2N/5) — as operations (Yjs, Automerge, JsonDoc.edit), and for JsonDoc also as
 *            a file sync does it (render, change, diff back with update)
 *   sync     each device encodes its full state and the other decodes and merges it
 *   GC       (core/crdt only) both acknowledge, each collects up to the collectable frontier
 */
import { deflateRawSync } from 'node:zlib';
import * as Automerge from '@automerge/automerge';
import * as Y from 'yjs';
import { hlcNow, type Hlc } from '../core/common/hlc';
import { JsonDoc, OrSet, collectableFrontier } from '../core/crdt';

interface Row {
  scenario: string;
  step: string;
  /** Fastest of the runs: the VM is shared and noisy, and the minimum is what the code costs. */
  seconds?: number;
  medianSeconds?: number;
  runs?: number;
  bytes?: number;
  deflated?: number;
  note?: string;
}

let emit: (row: Row) => void = (row) => {
  process.stdout.write(`${JSON.stringify(row)}\n`);
};

/** Runs a whole workload `times` times and prints each step once: fastest and median time. */
function repeated(times: number, run: () => void): void {
  const print = emit;
  const byStep = new Map<string, Row[]>();
  emit = (row) => {
    byStep.set(row.step, [...(byStep.get(row.step) ?? []), row]);
  };
  try {
    for (let i = 0; i < times; i++) run();
  } finally {
    emit = print;
  }
  for (const rows of byStep.values()) {
    const times = rows.map((r) => r.seconds).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
    const last = rows.at(-1)!;
    print(times.length > 0 ? { ...last, seconds: times[0], medianSeconds: times[Math.floor(times.length / 2)], runs: times.length } : last);
  }
}
const progress = (scenario: string, what: string) => process.stdout.write(`${JSON.stringify({ progress: true, scenario, what })}\n`);

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, (performance.now() - t0) / 1000];
}

const size = (data: string | Uint8Array) => {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return { bytes: bytes.length, deflated: deflateRawSync(bytes, { level: 1 }).length };
};

const key = (i: number) => `key-${i.toString().padStart(6, '0')}`;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function deviceClock(): () => Hlc {
  let last: Hlc = { wall: 0, counter: 0 };
  return () => (last = hlcNow(last, Date.now()));
}

/** Both devices' sets of edits, as plain values, so every library does the same. */
function edits(n: number) {
  return {
    set1: range(0, n / 10),
    del1: range(n / 5, (3 * n) / 10),
    set2: range(n / 20, (3 * n) / 20),
    del2: range((3 * n) / 10, (2 * n) / 5),
  };
}

function mapCcsync(scenario: string, n: number): void {
  const e = edits(n);
  const c1 = deviceClock();
  const c2 = deviceClock();
  const base: Record<string, string> = {};
  for (const i of range(0, n)) base[key(i)] = `value-${i}`;
  const [d1, tCreate] = timed(() => JsonDoc.fromValue(base, 'device-1', c1()));
  emit({ scenario, step: 'create', seconds: tCreate, ...size(d1.encode()) });
  const [d2, tCopy] = timed(() => JsonDoc.empty().merge(JsonDoc.decode(d1.encode())));
  emit({ scenario, step: 'copy to device 2 (encode+decode+merge)', seconds: tCopy });
  const changes = (sets: number[], dels: number[], prefix: string) => [...sets.map((i) => [[key(i)], `${prefix}-${i}`] as const), ...dels.map((i) => [[key(i)], undefined] as const)];
  const [[e1, e2], tEdit] = timed(() => [d1.edit(changes(e.set1, e.del1, 'one'), 'device-1', c1).doc, d2.edit(changes(e.set2, e.del2, 'two'), 'device-2', c2).doc]);
  emit({ scenario, step: 'concurrent edits (JsonDoc.edit, by path)', seconds: tEdit });
  // What a file sync does instead: render, change the plain value, diff it back (update).
  const [diffed, tDiff] = timed(() => {
    const v1 = d1.toValue() as Record<string, string>;
    for (const i of e.set1) v1[key(i)] = `one-${i}`;
    for (const i of e.del1) delete v1[key(i)];
    const v2 = d2.toValue() as Record<string, string>;
    for (const i of e.set2) v2[key(i)] = `two-${i}`;
    for (const i of e.del2) delete v2[key(i)];
    return [d1.update(v1, 'device-1', c1).doc, d2.update(v2, 'device-2', c2).doc];
  });
  emit({ scenario, step: '  same edits as file diffs (toValue+update)', seconds: tDiff, note: `same values: ${JSON.stringify(diffed.map((d) => d.toValue())) === JSON.stringify([e1, e2].map((d) => d.toValue()))}` });
  const [, tMerge] = timed(() => e1.merge(e2));
  emit({ scenario, step: 'merge (in memory)', seconds: tMerge });
  const [[m1, m2], tSync] = timed(() => [e1.merge(JsonDoc.decode(e2.encode())), e2.merge(JsonDoc.decode(e1.encode()))]);
  const merged = m1.encode();
  emit({ scenario, step: 'sync both ways (encode+decode+merge)', seconds: tSync, ...size(merged), note: `${Object.keys(m1.toValue() as object).length} keys, ${m1.conflicts().length} conflicts, equal: ${merged === m2.encode()}` });
  const acks = new Map([
    ['device-1', m1.versionVector()],
    ['device-2', m2.versionVector()],
  ]);
  const [g1, tGc] = timed(() => m1.gc(collectableFrontier(acks, m1.versionVector())));
  emit({ scenario, step: 'GC (tombstones of deleted keys)', seconds: tGc, ...size(g1.encode()) });
  const g2 = m2.gc(collectableFrontier(acks, m2.versionVector()));
  const [after, tAfter] = timed(() => g1.merge(JsonDoc.decode(g2.encode())));
  emit({ scenario, step: 'sync after GC (encode+decode+merge)', seconds: tAfter, ...size(after.encode()), note: `equal: ${after.encode() === g2.merge(g1).encode()}` });
  emit({ scenario, step: 'total: create → synced', seconds: tCreate + tCopy + tEdit + tSync });
}

function mapYjs(scenario: string, n: number): void {
  const e = edits(n);
  const d1 = new Y.Doc();
  const [, tCreate] = timed(() =>
    d1.transact(() => {
      const m = d1.getMap<string>('m');
      for (const i of range(0, n)) m.set(key(i), `value-${i}`);
    }),
  );
  emit({ scenario, step: 'create', seconds: tCreate, ...size(Y.encodeStateAsUpdate(d1)) });
  const d2 = new Y.Doc();
  const [, tCopy] = timed(() => Y.applyUpdate(d2, Y.encodeStateAsUpdate(d1)));
  emit({ scenario, step: 'copy to device 2 (encode+apply)', seconds: tCopy });
  const [, tEdit] = timed(() => {
    d1.transact(() => {
      const m = d1.getMap<string>('m');
      for (const i of e.set1) m.set(key(i), `one-${i}`);
      for (const i of e.del1) m.delete(key(i));
    });
    d2.transact(() => {
      const m = d2.getMap<string>('m');
      for (const i of e.set2) m.set(key(i), `two-${i}`);
      for (const i of e.del2) m.delete(key(i));
    });
  });
  emit({ scenario, step: 'concurrent edits', seconds: tEdit });
  const [, tSync] = timed(() => {
    const u1 = Y.encodeStateAsUpdate(d1);
    const u2 = Y.encodeStateAsUpdate(d2);
    Y.applyUpdate(d1, u2);
    Y.applyUpdate(d2, u1);
  });
  const merged = Y.encodeStateAsUpdate(d1);
  emit({ scenario, step: 'sync both ways (encode+apply)', seconds: tSync, ...size(merged), note: `${d1.getMap('m').size} keys, equal: ${Buffer.from(merged).equals(Buffer.from(Y.encodeStateAsUpdate(d2)))}` });
  emit({ scenario, step: 'total: create → synced', seconds: tCreate + tCopy + tEdit + tSync });
}

function mapAutomerge(scenario: string, n: number): void {
  const e = edits(n);
  progress(scenario, 'creating');
  const [d1, tCreate] = timed(() =>
    Automerge.change(Automerge.init<Record<string, string>>({ actor: '01'.repeat(16) }), (d) => {
      for (const i of range(0, n)) {
        d[key(i)] = `value-${i}`;
        if (i % 10_000 === 9_999) progress(scenario, `create: ${i + 1} keys`);
      }
    }),
  );
  progress(scenario, 'saving');
  emit({ scenario, step: 'create', seconds: tCreate, ...size(Automerge.save(d1)) });
  const [d2, tCopy] = timed(() => Automerge.load<Record<string, string>>(Automerge.save(d1), { actor: '02'.repeat(16) }));
  emit({ scenario, step: 'copy to device 2 (save+load)', seconds: tCopy });
  const [[e1, e2], tEdit] = timed(() => [
    Automerge.change(d1, (d) => {
      for (const i of e.set1) d[key(i)] = `one-${i}`;
      for (const i of e.del1) delete d[key(i)];
    }),
    Automerge.change(d2, (d) => {
      for (const i of e.set2) d[key(i)] = `two-${i}`;
      for (const i of e.del2) delete d[key(i)];
    }),
  ]);
  emit({ scenario, step: 'concurrent edits', seconds: tEdit });
  progress(scenario, 'syncing');
  const [[m1, m2], tSync] = timed(() => [Automerge.merge(Automerge.clone(e1), Automerge.load(Automerge.save(e2))), Automerge.merge(Automerge.clone(e2), Automerge.load(Automerge.save(e1)))]);
  const merged = Automerge.save(m1);
  emit({ scenario, step: 'sync both ways (save+load+merge)', seconds: tSync, ...size(merged), note: `${Object.keys(m1).length} keys, equal: ${JSON.stringify(m1) === JSON.stringify(m2)}` });
  emit({ scenario, step: 'total: create → synced', seconds: tCreate + tCopy + tEdit + tSync });
}

function orSets(scenario: string, n: number): void {
  const [a, tA] = timed(() => OrSet.empty().addAll(range(0, n).map(key), 'device-1').state);
  const b = OrSet.empty().addAll(range(n / 2, n + n / 2).map(key), 'device-2').state;
  emit({ scenario, step: `${n} adds`, seconds: tA, ...size(a.encode()) });
  const [m, tMerge] = timed(() => a.merge(b));
  emit({ scenario, step: 'merge (in memory; half the elements on both)', seconds: tMerge, ...size(m.encode()), note: `${m.size} elements` });
  const [, tSync] = timed(() => [a.merge(OrSet.decode(b.encode())), b.merge(OrSet.decode(a.encode()))]);
  emit({ scenario, step: 'sync both ways (encode+decode+merge)', seconds: tSync });
  const removed = m.removeAll(range(0, n).map(key)).state;
  const [again, tAgain] = timed(() => removed.merge(b));
  emit({ scenario, step: `remove ${n} observed, merge with device 2`, seconds: tAgain, ...size(again.encode()), note: `${again.size} elements; no tombstones, so GC has nothing to collect` });
}

function orSetYjs(scenario: string, n: number): void {
  const a = new Y.Doc();
  const b = new Y.Doc();
  const [, tA] = timed(() => a.transact(() => range(0, n).forEach((i) => a.getMap('s').set(key(i), true))));
  b.transact(() => range(n / 2, n + n / 2).forEach((i) => b.getMap('s').set(key(i), true)));
  emit({ scenario, step: `${n} adds, one transaction`, seconds: tA, ...size(Y.encodeStateAsUpdate(a)) });
  const [, tSync] = timed(() => {
    const ua = Y.encodeStateAsUpdate(a);
    const ub = Y.encodeStateAsUpdate(b);
    Y.applyUpdate(a, ub);
    Y.applyUpdate(b, ua);
  });
  emit({ scenario, step: 'sync both ways (encode+apply)', seconds: tSync, ...size(Y.encodeStateAsUpdate(a)), note: `${a.getMap('s').size} elements` });
  a.transact(() => range(0, n).forEach((i) => a.getMap('s').delete(key(i))));
  const [, tAgain] = timed(() => Y.applyUpdate(a, Y.encodeStateAsUpdate(b)));
  emit({ scenario, step: `remove ${n}, merge with device 2`, seconds: tAgain, ...size(Y.encodeStateAsUpdate(a)), note: `${a.getMap('s').size} elements` });
}

/** A vault's metadata as a map of small records: what issue #3 would keep per item. */
function record(i: number, rev: number) {
  return { size: 1000 + i, mtimeMs: 1_764_000_000_000 + i * 1000 + rev, mode: 0o644, contentId: (i * 2654435761 + rev).toString(16).padStart(8, '0').repeat(8), deleted: false };
}

function vault(scenario: string, lib: 'ccsync' | 'yjs' | 'automerge', n: number): void {
  const items = range(0, n).map((i) => [`projects/p${i % 50}/file-${i}.md`, record(i, 0)] as const);
  const touched = range(0, n / 50);
  if (lib === 'ccsync') {
    const clock = deviceClock();
    const [doc, t] = timed(() => JsonDoc.fromValue(Object.fromEntries(items), 'device-1', clock()));
    emit({ scenario, step: `${n} records`, seconds: t, ...size(doc.encode()) });
    const [r, tu] = timed(() => doc.edit(touched.map((i) => [[items[i]![0]], record(i, 1)] as const), 'device-1', clock));
    emit({ scenario, step: `update ${touched.length} records: delta`, seconds: tu, ...size(r.delta.encode()) });
    const [, tm] = timed(() => JsonDoc.empty().merge(JsonDoc.decode(r.doc.encode())));
    emit({ scenario, step: 'load on another device (decode+merge)', seconds: tm });
  } else if (lib === 'yjs') {
    const doc = new Y.Doc();
    const [, t] = timed(() =>
      doc.transact(() => {
        const m = doc.getMap<Y.Map<unknown>>('vault');
        for (const [path, rec] of items) m.set(path, new Y.Map(Object.entries(rec)));
      }),
    );
    emit({ scenario, step: `${n} records (nested Y.Map per record)`, seconds: t, ...size(Y.encodeStateAsUpdate(doc)) });
    const sv = Y.encodeStateVector(doc);
    const [, tu] = timed(() =>
      doc.transact(() => {
        for (const i of touched) for (const [k, v] of Object.entries(record(i, 1))) doc.getMap<Y.Map<unknown>>('vault').get(items[i]![0])!.set(k, v);
      }),
    );
    emit({ scenario, step: `update ${touched.length} records: delta`, seconds: tu, ...size(Y.encodeStateAsUpdate(doc, sv)) });
    const [, tm] = timed(() => Y.applyUpdate(new Y.Doc(), Y.encodeStateAsUpdate(doc)));
    emit({ scenario, step: 'load on another device (encode+apply)', seconds: tm });
  } else {
    const [doc, t] = timed(() => Automerge.from<Record<string, ReturnType<typeof record>>>(Object.fromEntries(items)));
    emit({ scenario, step: `${n} records`, seconds: t, ...size(Automerge.save(doc)) });
    const [next, tu] = timed(() =>
      Automerge.change(doc, (d) => {
        for (const i of touched) Object.assign(d[items[i]![0]]!, record(i, 1));
      }),
    );
    emit({ scenario, step: `update ${touched.length} records: delta`, seconds: tu, ...size(Automerge.saveSince(next, Automerge.getHeads(doc))) });
    const [, tm] = timed(() => Automerge.load(Automerge.save(next)));
    emit({ scenario, step: 'load on another device (save+load)', seconds: tm });
  }
}

const RUNS = 5;

export const CRDT_SCENARIOS: Record<string, () => void> = {
  'or-set 100k: core/crdt': () => repeated(RUNS, () => orSets('or-set 100k: core/crdt', 100_000)),
  'or-set 100k: Yjs Y.Map': () => repeated(RUNS, () => orSetYjs('or-set 100k: Yjs Y.Map', 100_000)),
  'map 100k: core/crdt JsonDoc': () => repeated(RUNS, () => mapCcsync('map 100k: core/crdt JsonDoc', 100_000)),
  'map 100k: Yjs': () => repeated(RUNS, () => mapYjs('map 100k: Yjs', 100_000)),
  // Once: it takes minutes (the runner stops it after 60 s).
  'map 100k: Automerge': () => mapAutomerge('map 100k: Automerge', 100_000),
  'vault 5,000: core/crdt JsonDoc': () => repeated(RUNS, () => vault('vault 5,000: core/crdt JsonDoc', 'ccsync', 5_000)),
  'vault 5,000: Yjs': () => repeated(RUNS, () => vault('vault 5,000: Yjs', 'yjs', 5_000)),
  'vault 5,000: Automerge': () => repeated(RUNS, () => vault('vault 5,000: Automerge', 'automerge', 5_000)),
};

if (process.argv[2] === '--scenario') {
  const run = CRDT_SCENARIOS[process.argv[3] ?? ''];
  if (!run) throw new Error(`unknown scenario ${process.argv[3]}`);
  run();
}
