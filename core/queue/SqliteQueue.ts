/**
 * The persistent operation queue (issue #4): ops with priority, dependencies, attempts and
 * backoff, coalescing and encrypted payloads, in one SQLite file (better-sqlite3 12, WAL).
 *
 * Durability (measured with `node bench/queue.mjs`, see README.md): WAL + synchronous=NORMAL
 * commits survive a killed process but not power loss; FULL adds an fsync per commit (~50k vs ~4k
 * autocommit insert+update pairs/s here). An acknowledged enqueue must survive power loss, so
 * enqueue (and the user's retry/drop) commits at FULL; claim, complete and fail commit at NORMAL,
 * because losing one of those only replays an op, which executors must tolerate anyway, and the
 * next FULL commit makes them durable too. Batching enqueues (`enqueueMany`) pays one fsync per
 * batch. `durability: 'all'` makes every commit FULL.
 *
 * Executors MUST be idempotent: an op can run more than once (a crash after the effect but before
 * `complete`, a completion lost to power loss). `idempotencyKey` is stable across retries and
 * replays, and changes only when coalescing replaces the payload.
 */
import { randomUUID } from 'node:crypto';
import { CcsError } from '../common/errors';
import { backoffDelay, backoffPolicy } from './backoff';
import { batchOrder, isBatchRef } from './batchOrder';
import { DependencyGraph, reasonFor } from './dependencyGraph';
import { describeError, truncate } from './lastError';
import { openQueueFile } from './openQueueFile';
import { INFO_SELECT, toInfo, type InfoRow, type OpRow } from './opRow';
import type { PayloadCipher } from './payloadCipher';
import { QueueDb } from './queueDb';
import { openPayloadCipher } from './queueKey';
import { migrate } from './schema';
import { validateSpec } from './validateSpec';
import {
  OP_STATUSES,
  type BackoffPolicy,
  type ClaimedOp,
  type EnqueueOptions,
  type EnqueueResult,
  type FailOptions,
  type FailOutcome,
  type NewOp,
  type OpInfo,
  type OpSpec,
  type OpStatus,
  type QueueOptions,
  type QueueStats,
  type RecoveredQueue,
} from './types';

type ClaimableRow = Pick<OpRow, 'id' | 'idem_key' | 'kind' | 'item' | 'payload' | 'priority' | 'coalesce_key' | 'attempts' | 'max_attempts'>;

const INTERRUPTED = 'interrupted: ccsync stopped while this op ran';

const CLAIMABLE = `
  SELECT id, idem_key, kind, item, payload, priority, coalesce_key, attempts, max_attempts FROM ops
  WHERE status = 'pending' AND waiting = 0 AND next_attempt_at <= ?
    AND (coalesce_key IS NULL OR NOT EXISTS (SELECT 1 FROM ops r WHERE r.coalesce_key = ops.coalesce_key AND r.status = 'running'))
  ORDER BY priority DESC, id
  LIMIT ?`;

export class SqliteQueue {
  private readonly graph: DependencyGraph;

  private constructor(
    /** Shared with core/transfer's TransferState, which keeps its tables in the same file. */
    readonly db: QueueDb,
    private readonly cipher: PayloadCipher,
    private readonly clock: () => number,
    private readonly random: () => number,
    private readonly policy: BackoffPolicy,
  ) {
    this.graph = new DependencyGraph(db);
  }

  /**
   * Opens (or creates) the queue in `file`. A corrupt file is moved aside and replaced by an empty
   * queue; `recovered` then says where it went, and the caller rebuilds the work from a rescan.
   * Ops left running by a crash go back to pending, their interrupted attempt counted.
   * Throws LOCKED when the file was written with a different key.
   */
  static open(file: string, options: QueueOptions): { queue: SqliteQueue; recovered: RecoveredQueue | null } {
    const clock = options.now ?? Date.now;
    const random = options.random ?? Math.random;
    const policy = backoffPolicy(options.backoff);
    const durability = options.durability ?? 'enqueues';
    const { value: queue, recovered } = openQueueFile(file, clock(), (raw) => {
      migrate(raw, file);
      const db = new QueueDb(raw, durability);
      const q = new SqliteQueue(db, openPayloadCipher(db, options.key, file), clock, random, policy);
      q.recoverInterrupted();
      return q;
    });
    return { queue, recovered };
  }

  close(): void {
    this.db.close();
  }

  // --- enqueue --------------------------------------------------------------------------------

  /** One op in its own durable commit (see enqueueMany for throughput). */
  enqueue(op: NewOp, options: EnqueueOptions = {}): EnqueueResult {
    return this.enqueueMany([{ ...op, ...options }])[0]!;
  }

  /**
   * All or nothing, in one durable transaction: the way to enqueue many ops fast. Ops may depend on
   * earlier or later ops of the same batch with `{ batch: index }`; a cycle is rejected.
   */
  enqueueMany(specs: readonly OpSpec[]): EnqueueResult[] {
    if (specs.length === 0) return [];
    const order = batchOrder(specs);
    const now = this.clock();
    // A lone op without dependencies or coalescing is one INSERT: atomic without a transaction.
    const single = specs.length === 1 && !specs[0]!.dependsOn?.length && specs[0]!.coalesceKey === undefined;
    return this.db[single ? 'writeOne' : 'write'](true, () => {
      const results: EnqueueResult[] = new Array<EnqueueResult>(specs.length);
      for (const i of order) results[i] = this.insertOne(specs[i]!, results, now);
      return results;
    });
  }

  private insertOne(spec: OpSpec, batch: readonly EnqueueResult[], now: number): EnqueueResult {
    validateSpec(spec);
    const deps = this.resolveDeps(spec, batch);
    const priority = spec.priority ?? 0;
    if (spec.coalesceKey !== undefined) {
      const target = this.db.q("SELECT id FROM ops WHERE coalesce_key = ? AND status = 'pending' ORDER BY id DESC LIMIT 1").get(spec.coalesceKey) as
        | { id: number }
        | undefined;
      // If the new op must wait for the pending one (directly or through its dependencies), merging
      // would make the op wait for itself; it stays a separate op that runs after it instead.
      if (target && !this.graph.anyReaches(deps.map((d) => d.id), target.id)) return this.mergeInto(target.id, spec, deps, now);
    }
    const idempotencyKey = randomUUID();
    const blocked = deps.find((d) => d.status === 'failed' || d.status === 'blocked' || d.status === 'dropped');
    const id = Number(
      this.db
        .q(
          `INSERT INTO ops (idem_key, kind, item, payload, priority, coalesce_key, status, waiting, attempts, max_attempts, next_attempt_at, last_error, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?)`,
        )
        .run(
          idempotencyKey,
          spec.kind,
          spec.item,
          this.cipher.seal(spec.payload, idempotencyKey),
          priority,
          spec.coalesceKey ?? null,
          blocked ? 'blocked' : 'pending',
          spec.maxAttempts ?? this.policy.maxAttempts,
          now,
          blocked ? this.blockedReason(blocked.id) : null,
          now,
          now,
        ).lastInsertRowid,
    );
    if (deps.length > 0) {
      this.graph.addEdges(id, deps);
      this.graph.inheritPriority(id, priority);
    }
    return { id, idempotencyKey, outcome: 'added' };
  }

  /** The newest op wins: kind, item and payload are replaced, so a new idempotency key marks the new content. */
  private mergeInto(target: number, spec: OpSpec, deps: readonly { id: number; status: OpStatus }[], now: number): EnqueueResult {
    const idempotencyKey = randomUUID();
    this.db
      .q('UPDATE ops SET idem_key = ?, kind = ?, item = ?, payload = ?, priority = max(priority, ?), max_attempts = coalesce(?, max_attempts), updated_at = ? WHERE id = ?')
      .run(idempotencyKey, spec.kind, spec.item, this.cipher.seal(spec.payload, idempotencyKey), spec.priority ?? 0, spec.maxAttempts ?? null, now, target);
    this.graph.addEdges(target, deps);
    const reason = this.graph.blockingReason(target);
    if (reason !== null) {
      this.db.q("UPDATE ops SET status = 'blocked', last_error = ? WHERE id = ?").run(reason, target);
      this.graph.blockDependents(target, reason, now);
    }
    const { priority } = this.db.q('SELECT priority FROM ops WHERE id = ?').get(target) as { priority: number };
    this.graph.inheritPriority(target, priority);
    return { id: target, idempotencyKey, outcome: 'coalesced' };
  }

  private resolveDeps(spec: OpSpec, batch: readonly EnqueueResult[]): { id: number; status: OpStatus }[] {
    const out = new Map<number, { id: number; status: OpStatus }>();
    for (const d of spec.dependsOn ?? []) {
      const ref = isBatchRef(d) ? batch[d.batch]!.id : d;
      if (!Number.isSafeInteger(ref)) throw new CcsError('USAGE', `enqueue: dependency ${String(ref)} is not an op id`);
      const resolved = this.graph.resolve(ref);
      if (!resolved) throw new CcsError('USAGE', `enqueue: dependency #${ref} does not exist`);
      out.set(resolved.id, resolved);
    }
    return [...out.values()];
  }

  private blockedReason(depId: number): string {
    const dep = this.db.q('SELECT id, kind, item, status, last_error FROM ops WHERE id = ?').get(depId) as {
      id: number;
      kind: string;
      item: string;
      status: OpStatus;
      last_error: string | null;
    };
    return dep.status !== 'dropped' && dep.last_error ? `${reasonFor(dep)}: ${dep.last_error}` : reasonFor(dep);
  }

  // --- executing ------------------------------------------------------------------------------

  /**
   * Claims up to `limit` runnable ops: pending, all dependencies done, next attempt due, and no op
   * with the same coalesce key running (so two versions of one item never run at once). Higher
   * priority first, then enqueue order. Each claim counts as an attempt.
   */
  claim(limit = 1, now = this.clock()): ClaimedOp[] {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new CcsError('USAGE', `claim: limit must be an integer ≥ 1, got ${limit}`);
    // Coalescing and supersession keep two runnable ops from sharing a key; should it happen, run one.
    const keys = new Set<string>();
    const rows = (this.db.q(CLAIMABLE).all(now, limit) as ClaimableRow[]).filter((r) => r.coalesce_key === null || (!keys.has(r.coalesce_key) && keys.add(r.coalesce_key)));
    if (rows.length === 0) return [];
    // Nothing else writes between the read and the update (one owner, synchronous calls). One row
    // is one UPDATE, atomic without BEGIN/COMMIT (measured: UPDATE … RETURNING costs twice this).
    this.db[rows.length === 1 ? 'writeOne' : 'write'](false, () => {
      for (const row of rows) this.db.q("UPDATE ops SET status = 'running', attempts = attempts + 1, updated_at = ? WHERE id = ?").run(now, row.id);
    });
    const claimed: ClaimedOp[] = [];
    for (const row of rows) {
      let payload: unknown;
      try {
        payload = this.cipher.open(row.payload, row.idem_key, row.id);
      } catch (e) {
        // A damaged payload can never run: fail it (blocking its dependents) instead of failing every claim.
        this.db.write(false, () => this.markFailed(row, describeError(e), now));
        continue;
      }
      claimed.push({
        id: row.id,
        idempotencyKey: row.idem_key,
        kind: row.kind,
        item: row.item,
        payload,
        priority: row.priority,
        coalesceKey: row.coalesce_key,
        attempt: row.attempts + 1,
        maxAttempts: row.max_attempts,
      });
    }
    return claimed;
  }

  next(now = this.clock()): ClaimedOp | null {
    return this.claim(1, now)[0] ?? null;
  }

  /**
   * Records success and releases the ops waiting for it. Completing an op that is already done, was
   * dropped meanwhile, or was pruned is a no-op (false): replays are harmless.
   */
  complete(id: number): boolean {
    return this.db.writeOne(false, () => this.completeOne(id, this.clock()));
  }

  /** Many completions in one commit. Returns how many ops became done. */
  completeMany(ids: readonly number[]): number {
    const now = this.clock();
    return this.db.write(false, () => ids.reduce((n, id) => n + (this.completeOne(id, now) ? 1 : 0), 0));
  }

  /** One statement: the ops_done trigger releases the dependents in the same atomic write. */
  private completeOne(id: number, now: number): boolean {
    if (this.db.q("UPDATE ops SET status = 'done', last_error = NULL, updated_at = ? WHERE id = ? AND status = 'running'").run(now, id).changes === 1) return true;
    const row = this.db.q('SELECT status FROM ops WHERE id = ?').get(id) as { status: OpStatus } | undefined;
    if (!row || row.status === 'done' || row.status === 'dropped') return false;
    throw new CcsError('USAGE', `complete(#${id}): the op is ${row.status}, not running; only claimed ops can complete`);
  }

  /**
   * A transient failure reschedules the op with backoff; a permanent one, or running out of
   * attempts, marks it failed and blocks everything that depends on it. Ignored (no-op) for an op
   * that is not running, e.g. dropped while it ran.
   */
  fail(id: number, error: unknown, options: FailOptions = {}): FailOutcome {
    const now = this.clock();
    return this.db.write(false, () => {
      const row = this.db.q('SELECT * FROM ops WHERE id = ?').get(id) as OpRow | undefined;
      if (!row || row.status !== 'running') return 'ignored';
      const message = describeError(error);
      if (options.permanent || row.attempts >= row.max_attempts) {
        this.markFailed(row, options.permanent ? message : `${message} (gave up after ${row.attempts} attempts)`, now);
        return 'failed';
      }
      const delay = Math.max(backoffDelay(row.attempts, this.policy, this.random), options.retryAfterMs ?? 0);
      this.requeue(row, now + delay, message, now);
      return 'rescheduled';
    });
  }

  /**
   * Gives a claimed op back without counting the attempt: nothing about the op failed (the remote
   * is unreachable, the user paused). It runs again after `delayMs`.
   */
  release(id: number, delayMs = 0): boolean {
    const now = this.clock();
    return this.db.write(false, () => {
      const row = this.db.q('SELECT * FROM ops WHERE id = ?').get(id) as OpRow | undefined;
      if (!row || row.status !== 'running') return false;
      this.db.q('UPDATE ops SET attempts = attempts - 1 WHERE id = ?').run(id);
      this.requeue(row, now + delayMs, row.last_error, now);
      return true;
    });
  }

  private markFailed(row: Pick<OpRow, 'id' | 'kind' | 'item'>, message: string, now: number): void {
    const lastError = truncate(message);
    this.db.q("UPDATE ops SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?").run(lastError, now, row.id);
    this.graph.blockDependents(row.id, `${reasonFor({ ...row, status: 'failed' })}: ${lastError}`, now);
  }

  /**
   * Back to pending. If a newer op with the same coalesce key is pending, that one already holds
   * the newest payload: this op is superseded (dropped, its dependents re-pointed to the newer
   * one) so an older version can never run after a newer one.
   */
  private requeue(row: OpRow, nextAttemptAt: number, lastError: string | null, now: number): void {
    this.db.q("UPDATE ops SET status = 'pending', next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?").run(nextAttemptAt, lastError && truncate(lastError), now, row.id);
    this.supersede(row, now);
  }

  private supersede(row: OpRow, now: number): boolean {
    if (row.coalesce_key === null) return false;
    const newer = this.db.q("SELECT id FROM ops WHERE coalesce_key = ? AND status = 'pending' AND id <> ? ORDER BY id DESC LIMIT 1").get(row.coalesce_key, row.id) as
      | { id: number }
      | undefined;
    // Ops ordered by their dependencies (either way) already run in the right order. Unrelated
    // ops of one key exist only when the other one was enqueued after this one left pending (else
    // they would have merged), so the other one holds the newer payload.
    if (!newer || this.graph.anyReaches([newer.id], row.id) || this.graph.anyReaches([row.id], newer.id)) return false;
    this.db.q("UPDATE ops SET status = 'dropped', merged_into = ?, last_error = ?, updated_at = ? WHERE id = ?").run(newer.id, `superseded by #${newer.id}`, now, row.id);
    this.graph.repoint(row.id, newer.id, now);
    this.graph.unblockDependents(newer.id, now);
    return true;
  }

  /** On open: ops left running by a crash or kill count the interrupted attempt and go back to pending. */
  private recoverInterrupted(): void {
    const now = this.clock();
    const rows = this.db.q("SELECT * FROM ops WHERE status = 'running' ORDER BY id").all() as OpRow[];
    if (rows.length === 0) return;
    this.db.write(true, () => {
      for (const row of rows) {
        if (row.attempts >= row.max_attempts) this.markFailed(row, `${INTERRUPTED} (gave up after ${row.attempts} attempts)`, now);
        else this.requeue(row, now + backoffDelay(row.attempts, this.policy, this.random), INTERRUPTED, now);
      }
    });
  }

  // --- the user's decisions -------------------------------------------------------------------

  /**
   * failed or dropped → pending with fresh attempts; blocked → retries what blocks it; pending →
   * skips the backoff wait. Dependents blocked only by what was retried become pending again.
   * Returns how many ops became runnable or pending.
   */
  retry(id: number): number {
    const now = this.clock();
    return this.db.write(true, () => {
      const row = this.mustGet(id);
      if (row.status === 'pending') {
        this.db.q('UPDATE ops SET next_attempt_at = ?, updated_at = ? WHERE id = ?').run(now, now, id);
        return 1;
      }
      if (row.status === 'running' || row.status === 'done') throw new CcsError('USAGE', `retry(#${id}): the op is ${row.status}; there is nothing to retry`);
      if (row.merged_into !== null) throw new CcsError('USAGE', `retry(#${id}): the op was superseded by #${row.merged_into}; retry that one`);
      const roots = row.status === 'blocked' ? this.graph.rootCauses(id) : [id];
      // All roots first: one root can sit behind another (a dropped op waiting on a failed one).
      for (const root of roots) {
        this.db.q("UPDATE ops SET status = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL, updated_at = ? WHERE id = ?").run(now, now, root);
      }
      let count = 0;
      for (const root of roots) {
        const reason = this.graph.blockingReason(root);
        if (reason !== null) {
          this.db.q("UPDATE ops SET status = 'blocked', last_error = ? WHERE id = ?").run(reason, root);
          continue;
        }
        count++;
        if (!this.supersede(this.mustGet(root), now)) count += this.graph.unblockDependents(root, now);
      }
      return count;
    });
  }

  /**
   * Discards an op that has not succeeded; everything that depends on it is blocked. Dropping a
   * running op makes its executor's later complete/fail a no-op. False if done or already dropped.
   */
  drop(id: number): boolean {
    const now = this.clock();
    return this.db.write(true, () => {
      const row = this.mustGet(id);
      if (row.status === 'done' || row.status === 'dropped') return false;
      this.db.q("UPDATE ops SET status = 'dropped', last_error = 'dropped by the user', updated_at = ? WHERE id = ?").run(now, id);
      this.graph.blockDependents(id, reasonFor({ ...row, status: 'dropped' }), now);
      return true;
    });
  }

  /** Makes every op waiting out a backoff due now (the network is back, the user pressed "sync now"). */
  wakeAll(now = this.clock()): number {
    return this.db.write(false, () => this.db.q("UPDATE ops SET next_attempt_at = ? WHERE status = 'pending' AND next_attempt_at > ?").run(now, now).changes);
  }

  /**
   * Deletes done ops, and dropped ops nothing depends on, last touched before `before`. The newest
   * op always stays: SQLite gives a new row max(id)+1, so keeping it means ids never repeat.
   */
  prune(before: number): number {
    return this.db.write(false, () => {
      const rows = this.db
        .q(
          `SELECT id FROM ops WHERE updated_at < ? AND id < (SELECT max(id) FROM ops)
             AND (status = 'done' OR (status = 'dropped' AND NOT EXISTS (SELECT 1 FROM deps WHERE dep = ops.id)))`,
        )
        .all(before) as { id: number }[];
      for (const { id } of rows) {
        this.db.q('DELETE FROM deps WHERE op = ?').run(id);
        this.db.q('DELETE FROM deps WHERE dep = ?').run(id);
        this.db.q('DELETE FROM ops WHERE id = ?').run(id);
      }
      return rows.length;
    });
  }

  // --- reading --------------------------------------------------------------------------------

  get(id: number): OpInfo | null {
    const row = this.db.q(`${INFO_SELECT} WHERE id = ?`).get(id) as InfoRow | undefined;
    return row ? toInfo(row) : null;
  }

  /** For `ccsync queue --json` and the UI: in enqueue order, without payloads. */
  list(filter: { status?: OpStatus; limit?: number; afterId?: number } = {}): OpInfo[] {
    const rows = filter.status
      ? (this.db.q(`${INFO_SELECT} WHERE status = ? AND id > ? ORDER BY id LIMIT ?`).all(filter.status, filter.afterId ?? 0, filter.limit ?? -1) as InfoRow[])
      : (this.db.q(`${INFO_SELECT} WHERE id > ? ORDER BY id LIMIT ?`).all(filter.afterId ?? 0, filter.limit ?? -1) as InfoRow[]);
    return rows.map(toInfo);
  }

  stats(now = this.clock()): QueueStats {
    const byStatus = Object.fromEntries(OP_STATUSES.map((s) => [s, 0])) as Record<OpStatus, number>;
    for (const r of this.db.q('SELECT status, count(*) AS n FROM ops GROUP BY status').all() as { status: OpStatus; n: number }[]) byStatus[r.status] = r.n;
    const ready = (this.db.q("SELECT count(*) AS n FROM ops WHERE status = 'pending' AND waiting = 0 AND next_attempt_at <= ?").get(now) as { n: number }).n;
    const next = this.db.q("SELECT min(next_attempt_at) AS t FROM ops WHERE status = 'pending' AND waiting = 0").get() as { t: number | null };
    return { byStatus, ready, nextAttemptAt: next.t };
  }

  private mustGet(id: number): OpRow {
    const row = this.db.q('SELECT * FROM ops WHERE id = ?').get(id) as OpRow | undefined;
    if (!row) throw new CcsError('USAGE', `queue op #${id} does not exist`);
    return row;
  }


}

