/**
 * A sync that survives being offline (issue #4): local changes are recorded in the device's
 * durable queue before the remote is needed, the sync runs when the remote can be reached, and
 * what it settled is acknowledged op by op. See core/queue/README.md "Integration".
 *
 *  1. open `<home>/queue.db` (key from the keychain or `<home>/queue.key`: no vault key needed);
 *  2. scan the root and compare stat info with state.db: one `push` op per changed or deleted
 *     item, coalesced per item (ten saves while offline are one op), by priority of item type;
 *  3. open the session and run the sync (`opts.sync` is passed through untouched);
 *  4. success: the remote is online; every push op except those the sync deferred is done; then
 *     every other runnable op goes to its registered handler, in priority order respecting
 *     dependencies, each acknowledged on its own;
 *  5. remote unreachable: record offline, fail the due ops with backoff (push ops never give up),
 *     and throw REMOTE_UNREACHABLE saying how many changes wait.
 * The caller holds the home lock.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ItemType, ReachabilityDto } from '../api/contract';
import { CcsError, isCcsError } from '../common/errors';
import { itemTypeOf } from '../common/itemType';
import { describeError } from '../queue/lastError';
import type { SqliteQueue } from '../queue/SqliteQueue';
import type { BackoffPolicy, ClaimedOp, OpSpec, OpStatus } from '../queue/types';
import { openRemote } from '../remotes/url';
import { loadIgnoreRules } from '../vault/ignoreRules';
import { readRootMarker } from '../vault/rootMarker';
import { scanRoot, statKey } from '../vault/scanner';
import { StateDb } from '../vault/stateDb';
import { readDeviceConfig, type DeviceConfig } from './deviceConfig';
import {
  PUSH_KIND,
  PUSH_MAX_ATTEMPTS,
  QUEUE_RETENTION_MS,
  devicePolicy,
  isRemoteUnreachable,
  openDeviceQueue,
  pushCoalesceKey,
  queuedChanges,
  recordReachability,
  unfinishedCount,
  type DeviceQueueOptions,
} from './deviceQueue';
import { diffLocal } from './localChanges';
import { openSession, releaseRemote, remoteEnv, type DeviceSession, type UnlockOptions } from './session';
import { REENCRYPT_KIND, reencryptObject } from './reencrypt';
import { runSync, type SyncOptions, type SyncReport } from './sync';
import { transfersFor } from './syncProgress';

// --- op handlers --------------------------------------------------------------------------------

/**
 * Runs one claimed op with the open session. Resolve: done. Throw: the op fails with backoff (a
 * PermanentOpError, or USAGE/OBJECT_CORRUPT/FORMAT_UNSUPPORTED/PATH_REJECTED, fails it for good);
 * an unreachable remote stops the drain and marks the device offline. Handlers must be
 * idempotent (core/queue/README.md "Contract for executors"): an op can run again after a crash.
 */
export type OpHandler = (session: DeviceSession, op: ClaimedOp) => Promise<void>;

/** Thrown by a handler when its op can never succeed as it is: no retry. */
export class PermanentOpError extends Error {
  override readonly name = 'PermanentOpError';
}

const handlers = new Map<string, OpHandler>();

/** Registers the executor of an op kind (e.g. "reencrypt"); returns the unregister function. */
export function registerOpHandler(kind: string, handler: OpHandler): () => void {
  if (kind === PUSH_KIND) throw new CcsError('USAGE', `"${PUSH_KIND}" ops are settled by the sync itself; they take no handler`);
  if (handlers.has(kind)) throw new CcsError('USAGE', `an op handler for "${kind}" is already registered`);
  handlers.set(kind, handler);
  return () => {
    if (handlers.get(kind) === handler) handlers.delete(kind);
  };
}

// Built-in kinds. Re-encryption (`rotate-key --reencrypt`) left unfinished by a crash is finished by
// any later sync as well as by `rotate-key --resume`.
registerOpHandler(REENCRYPT_KIND, async (s, op) => {
  await reencryptObject(s, op.item, Math.max(Number((op.payload as { epoch?: number } | null)?.epoch ?? 1), 1));
});

const PERMANENT_CODES = new Set(['USAGE', 'OBJECT_CORRUPT', 'FORMAT_UNSUPPORTED', 'PATH_REJECTED']);
const isPermanent = (e: unknown) => e instanceof PermanentOpError || (isCcsError(e) && PERMANENT_CODES.has(e.code));

// --- options and result ---------------------------------------------------------------------------

export interface QueuedSyncOptions extends DeviceQueueOptions {
  /** Passed to runSync as it is (dryRun, allowMassDelete, now, and whatever SyncOptions grows). */
  sync?: SyncOptions;
  /** Passed to openSession as it is (password, secretStore, wrapRemote). */
  unlock?: UnlockOptions;
  /**
   * true (default, a user's sync): every queued op is tried now, whatever its backoff. false (the
   * automatic loop): only ops that are due, so an outage is probed on the queue's schedule.
   */
  attemptAll?: boolean;
  /** Runs the sync with the open session (the CLI wraps runSync with progress and Ctrl-C); default runSync. */
  run?: (session: DeviceSession, options: SyncOptions) => Promise<SyncReport>;
}

export interface QueueSummary {
  /** Ops not finished: pending, running, failed or blocked. */
  queued: number;
  /** Of those, local changes (push ops) waiting to be sent. */
  changes: number;
  byStatus: Record<OpStatus, number>;
  /** The earliest next attempt of a pending op, ISO-8601, or null. */
  nextAttemptAt: string | null;
}

export type QueuedSyncResult = SyncReport & { queue: QueueSummary; reachability: ReachabilityDto | null };

/** Ops claimed per round of a drain (push acks go in one commit per round; handler ops are claimed one at a time). */
const CLAIM_BATCH = 256;

const ITEM_PRIORITY: Record<ItemType, number> = {
  settings: 60,
  memory: 60,
  mcp: 50,
  agent: 50,
  hook: 50,
  command: 40,
  'output-style': 40,
  skill: 40,
  plugin: 20,
  other: 10,
};
/** Files from this size on go after small files of their type. */
const LARGE_FILE = 1 << 20;

// --- the sync -------------------------------------------------------------------------------------

export async function queuedSync(home: string, opts: QueuedSyncOptions = {}): Promise<QueuedSyncResult> {
  const clock = opts.now ?? Date.now;
  const qopts = queueOptions(opts);
  const policy = devicePolicy(qopts);
  const dry = !!opts.sync?.dryRun;
  const config = await readDeviceConfig(home);
  const queue = await openDeviceQueue(home, config, qopts);
  try {
    // A dry run changes nothing, the queue included.
    if (!dry) await enqueueLocalChanges(home, config, queue, qopts);
    let session: DeviceSession | undefined;
    let report: SyncReport;
    try {
      session = await openSession(home, opts.unlock ?? {});
      report = await (opts.run ?? runSync)(session, opts.sync ?? {});
    } catch (e) {
      const reached = session !== undefined;
      session?.close();
      if (dry) throw isRemoteUnreachable(e) ? unreachableError(e, queuedChanges(queue)) : e;
      throw afterFailedSync(home, queue, e, reached, opts.attemptAll ?? true, policy, clock);
    }
    let reachability: ReachabilityDto | null = null;
    try {
      if (!dry) {
        reachability = safeRecord(home, null, null, policy, clock());
        // The remote is back: whatever waited out a backoff may run now.
        queue.wakeAll();
        // Handler ops (re-encryption) move bytes too: the same limit, pause and cancel as the sync.
        const { bwlimit, bandwidth, control } = opts.sync ?? {};
        const limited = transfersFor(session, { ...(bwlimit !== undefined ? { bwlimit } : {}), ...(bandwidth ? { bandwidth } : {}), ...(control ? { control } : {}) });
        try {
          await drain(home, queue, limited.session, report, policy, clock);
        } finally {
          limited.close();
        }
        queue.prune(clock() - QUEUE_RETENTION_MS);
      }
    } finally {
      session.close();
    }
    return { ...report, queue: summarize(queue), reachability };
  } finally {
    queue.close();
  }
}

function queueOptions(opts: QueuedSyncOptions): DeviceQueueOptions {
  const secretStore = opts.secretStore ?? opts.unlock?.secretStore;
  return { ...opts, ...(secretStore ? { secretStore } : {}) };
}

/** Step 2: local facts only (state.db and the root), so it works offline and without keys. */
async function enqueueLocalChanges(home: string, config: DeviceConfig, queue: SqliteQueue, opts: DeviceQueueOptions): Promise<number> {
  try {
    const specs = await localChangeOps(home, config);
    if (specs.length > 0) queue.enqueueMany(specs);
    return specs.length;
  } catch (e) {
    // Recording is a convenience on top of the sync, which looks for the changes itself.
    opts.onNotice?.(`could not record local changes in the operation queue (${describeError(e)}); the sync still looks for them`);
    return 0;
  }
}

async function localChangeOps(home: string, config: DeviceConfig): Promise<OpSpec[]> {
  const root = config.root;
  const st = await stat(root).catch(() => null);
  if (!st?.isDirectory()) return []; // the sync reports a missing root
  const db = StateDb.open(join(home, 'state.db'));
  try {
    const rows = db.allFiles();
    const marker = await readRootMarker(root);
    // A root that is not this device's (replaced, unmounted) is the sync's to report, not a list of deletions.
    if (marker ? marker.vaultId !== config.vaultId || marker.deviceId !== config.deviceId : rows.size > 0) return [];
    const scan = await scanRoot(root, await loadIgnoreRules(root));
    if (scan.files.size === 0 && rows.size > 0) return [];
    const diff = diffLocal(scan, rows);
    const specs: OpSpec[] = [];
    for (const f of diff.candidates) {
      const row = rows.get(f.path);
      // Same stat, only hashed too recently to trust ("racy"): the sync rehashes it; most likely unchanged.
      if (row && statKey(row) === statKey(f) && row.localPath === f.localPath && row.mode === f.mode) continue;
      specs.push(pushOp(f.path, row ? 'modify' : 'create', f.size));
    }
    for (const r of diff.deleted) specs.push(pushOp(r.path, 'delete', 0));
    return specs;
  } finally {
    db.close();
  }
}

function pushOp(path: string, change: 'create' | 'modify' | 'delete', size: number): OpSpec {
  return {
    kind: PUSH_KIND,
    item: path,
    // No secret here: the path is in clear in state.db too.
    payload: { change },
    priority: ITEM_PRIORITY[itemTypeOf(path)] - (size >= LARGE_FILE ? 10 : 0),
    coalesceKey: pushCoalesceKey(path),
    maxAttempts: PUSH_MAX_ATTEMPTS,
  };
}

/**
 * Step 4: push ops settled by the sync, then the other kinds through their handlers, in claim
 * order (priority, then age; dependencies first). Whenever ops complete, what they unblocked may
 * outrank the rest of the claimed batch, so the rest is given back (uncounted) and claimed again.
 * Push ops are acknowledged a batch per commit, handler ops one by one, so a crash resumes.
 */
async function drain(home: string, queue: SqliteQueue, session: DeviceSession, report: SyncReport, policy: BackoffPolicy, clock: () => number): Promise<void> {
  const deferred = new Set(report.deferred);
  const seen = new Set<number>();
  // Not in this pass: a deferred item (it changed while the sync read it) or a kind without a handler.
  const later = (id: number) => queue.release(id, policy.baseMs);
  const giveBack = (ops: readonly ClaimedOp[]) => ops.forEach((op) => queue.release(op.id, 0));
  let limit = CLAIM_BATCH;
  for (;;) {
    const ops = queue.claim(limit);
    if (ops.length === 0) return;
    if (ops.every((op) => seen.has(op.id))) {
      ops.forEach((op) => later(op.id));
      return;
    }
    const settled: number[] = [];
    let handled: ClaimedOp | null = null;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (seen.has(op.id)) {
        later(op.id);
        continue;
      }
      if (op.kind === PUSH_KIND) {
        seen.add(op.id);
        if (deferred.has(op.item)) later(op.id);
        else settled.push(op.id);
        continue;
      }
      if (settled.length > 0) {
        giveBack(ops.slice(i));
        break;
      }
      seen.add(op.id);
      giveBack(ops.slice(i + 1));
      const handler = handlers.get(op.kind);
      if (!handler) {
        // Written by a build that knows this kind: kept (with what depends on it) for one that does.
        later(op.id);
        break;
      }
      handled = op;
      try {
        await handler(session, op);
        queue.complete(op.id);
      } catch (e) {
        if (isRemoteUnreachable(e)) {
          queue.fail(op.id, e, { retryAfterMs: policy.baseMs });
          safeRecord(home, e, queue.stats().nextAttemptAt, policy, clock());
          throw unreachableError(e, queuedChanges(queue));
        }
        queue.fail(op.id, e, { permanent: isPermanent(e) });
      }
      break;
    }
    queue.completeMany(settled);
    // Runs of handler ops are claimed one at a time (each may unblock the next); push ops in batches.
    limit = handled ? 1 : CLAIM_BATCH;
  }
}

/**
 * Step 5. Only an unreachable remote touches the queue: the due ops (all of them for a user's
 * sync) fail with backoff and this error as their last error. Any other failure (a locked key,
 * the mass-delete guard, a missing root) is the user's to see, and leaves the ops as they are.
 */
function afterFailedSync(home: string, queue: SqliteQueue, e: unknown, reached: boolean, attemptAll: boolean, policy: BackoffPolicy, clock: () => number): unknown {
  if (!isRemoteUnreachable(e)) {
    if (reached) safeRecord(home, null, null, policy, clock());
    return e;
  }
  failDueOps(queue, e, attemptAll, policy, clock);
  safeRecord(home, e, queue.stats().nextAttemptAt, policy, clock());
  return unreachableError(e, queuedChanges(queue));
}

/**
 * One failed try of the remote, for every op it was meant to carry: push ops fail (counted, backoff,
 * at least `baseMs`); other kinds never ran, so they are given back uncounted.
 */
function failDueOps(queue: SqliteQueue, error: unknown, all: boolean, policy: BackoffPolicy, clock: () => number): void {
  if (all) queue.wakeAll();
  const passNow = clock();
  const seen = new Set<number>();
  for (;;) {
    const ops = queue.claim(CLAIM_BATCH, passNow);
    if (ops.length === 0) return;
    let fresh = false;
    for (const op of ops) {
      if (op.kind === PUSH_KIND && !seen.has(op.id)) queue.fail(op.id, error, { retryAfterMs: policy.baseMs });
      else queue.release(op.id, policy.baseMs);
      if (!seen.has(op.id)) fresh = true;
      seen.add(op.id);
    }
    if (!fresh) return;
  }
}

function unreachableError(e: unknown, changes: number): CcsError {
  const detail = e instanceof Error ? e.message : String(e);
  const waiting = changes === 0 ? 'no local changes are queued' : `${changes} change${changes === 1 ? ' is' : 's are'} queued and will be sent when it is back`;
  return new CcsError('REMOTE_UNREACHABLE', `remote unreachable: ${detail}; ${waiting}`, { cause: e });
}

/** The record is informational: failing to write it must not hide the sync's own outcome. */
function safeRecord(home: string, error: unknown, nextAttemptAt: number | null, policy: BackoffPolicy, now: number): ReachabilityDto | null {
  try {
    return recordReachability(home, error, nextAttemptAt, policy, now);
  } catch {
    return null;
  }
}

function summarize(queue: SqliteQueue): QueueSummary {
  const s = queue.stats();
  return {
    queued: unfinishedCount(queue),
    changes: queuedChanges(queue),
    byStatus: s.byStatus,
    nextAttemptAt: s.nextAttemptAt === null ? null : new Date(s.nextAttemptAt).toISOString(),
  };
}

// --- probing while offline ----------------------------------------------------------------------

/**
 * While offline, the automatic loop asks only whether the remote answers (`remote.check()`), on
 * the queue's backoff schedule, instead of scanning and syncing every time. A failed probe is a
 * failed try of the due ops, so the schedule moves on. The caller holds the home lock.
 */
export async function probeRemote(home: string, opts: QueuedSyncOptions = {}): Promise<ReachabilityDto> {
  const clock = opts.now ?? Date.now;
  const qopts = queueOptions(opts);
  const policy = devicePolicy(qopts);
  const config = await readDeviceConfig(home);
  const opened = openRemote(config.remote, { env: await remoteEnv(config, qopts.secretStore) });
  const remote = opts.unlock?.wrapRemote ? opts.unlock.wrapRemote(opened) : opened;
  try {
    await remote.check();
  } catch (e) {
    if (!isRemoteUnreachable(e)) throw e;
    const queue = await openDeviceQueue(home, config, qopts);
    try {
      failDueOps(queue, e, false, policy, clock);
      return recordReachability(home, e, queue.stats().nextAttemptAt, policy, clock());
    } finally {
      queue.close();
    }
  } finally {
    releaseRemote(remote);
  }
  return recordReachability(home, null, null, policy, clock());
}

