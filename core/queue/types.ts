/** The public shapes of the operation queue (see README.md for the state machine). */

/**
 * pending: waiting for its dependencies, its next attempt time, or a worker.
 * running: claimed by an executor. done: succeeded (final).
 * failed: permanent error or out of attempts. blocked: a dependency failed or was dropped.
 * dropped: discarded by the user, or superseded by a newer op with the same coalesce key.
 */
export type OpStatus = 'pending' | 'running' | 'done' | 'failed' | 'blocked' | 'dropped';

export const OP_STATUSES: readonly OpStatus[] = ['pending', 'running', 'done', 'failed', 'blocked', 'dropped'];

/** A reference, inside one `enqueueMany` batch, to another op of the same batch (by array index). */
export interface BatchRef {
  batch: number;
}

export interface NewOp {
  /** What to do, e.g. "upload" or "delete-remote"; the engine maps it to an executor. */
  kind: string;
  /** What it acts on (a vault path, an object name). Stored in plaintext, like paths in state.db. */
  item: string;
  /** Anything JSON can hold; encrypted at rest because it may carry secrets. */
  payload?: unknown;
}

export interface EnqueueOptions {
  /** Higher runs first; ties run in enqueue order. Default 0. */
  priority?: number;
  /** Ops that must be done (succeeded) before this one runs. */
  dependsOn?: readonly number[];
  /** Ops with the same key that are still pending merge into one: the newest kind, item and payload win. */
  coalesceKey?: string;
  /** Overrides the queue's default for this op. */
  maxAttempts?: number;
}

/** One op of an `enqueueMany` batch: it may also depend on other ops of the batch. */
export interface OpSpec extends NewOp, Omit<EnqueueOptions, 'dependsOn'> {
  dependsOn?: readonly (number | BatchRef)[];
}

export interface EnqueueResult {
  id: number;
  /** The executor's replay key (see README.md): stable across retries, new when coalescing replaces the payload. */
  idempotencyKey: string;
  /** added: a new op; coalesced: merged into the pending op `id`, whose payload is now this one. */
  outcome: 'added' | 'coalesced';
}

/** What `list`, `get` and `ccsync queue --json` show: everything except the payload. */
export interface OpInfo {
  id: number;
  idempotencyKey: string;
  kind: string;
  item: string;
  priority: number;
  status: OpStatus;
  dependsOn: number[];
  coalesceKey: string | null;
  attempts: number;
  maxAttempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  /** Set when the op was superseded by a newer op with the same coalesce key. */
  mergedInto: number | null;
  createdAt: number;
  updatedAt: number;
}

/** An op handed to an executor by `claim`. */
export interface ClaimedOp {
  id: number;
  idempotencyKey: string;
  kind: string;
  item: string;
  payload: unknown;
  priority: number;
  coalesceKey: string | null;
  /** 1 for the first attempt; counts attempts interrupted by a crash too. */
  attempt: number;
  maxAttempts: number;
}

export interface FailOptions {
  /** The op can never succeed as it is (e.g. the item was rejected): no retry. */
  permanent?: boolean;
  /** A server's Retry-After: the next attempt waits at least this long. */
  retryAfterMs?: number;
}

export type FailOutcome = 'rescheduled' | 'failed' | 'ignored';

export interface QueueStats {
  byStatus: Record<OpStatus, number>;
  /** Pending ops an executor could claim now. */
  ready: number;
  /** The earliest next attempt among pending ops whose dependencies are done, or null. */
  nextAttemptAt: number | null;
}

/**
 * Which commits must survive power loss.
 * - enqueues (default): commits that acknowledge new work or a user's decision (enqueue, retry,
 *   drop, the start of a transfer) are synchronous=FULL; progress commits (claim, complete, fail,
 *   confirmed parts) are NORMAL. Losing one of those to power loss only replays work.
 * - all: every commit is FULL.
 * - crash-only: every commit is NORMAL (survives a killed process, not power loss); for benchmarks.
 */
export type Durability = 'enqueues' | 'all' | 'crash-only';

export interface QueueOptions {
  /** 32 bytes, e.g. the vault's localState subkey; the queue derives its own subkey from it. */
  key: Uint8Array;
  now?: () => number;
  /** Uniform in [0, 1); drives the backoff jitter. */
  random?: () => number;
  durability?: Durability;
  backoff?: Partial<BackoffPolicy>;
}

export interface BackoffPolicy {
  /** Upper bound of the first retry's delay. */
  baseMs: number;
  /** No delay exceeds this. */
  capMs: number;
  /** Attempts (claims) before a transient failure becomes permanent. */
  maxAttempts: number;
}

/** Set by `SqliteQueue.open` when the file was corrupt or unreadable and a fresh queue replaced it. */
export interface RecoveredQueue {
  movedTo: string;
  reason: string;
  /** One sentence for the user: what happened and what to do. */
  message: string;
}
