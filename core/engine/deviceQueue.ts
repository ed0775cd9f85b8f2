/**
 * The device's durable operation queue (`<home>/queue.db`, core/queue) and the record of whether
 * the remote is reachable (`reachability` in state.db's meta table). Everything here works
 * offline and without the vault's keys: it is what lets a change made during a week without
 * network be recorded, shown (`ccsync queue`) and sent when the remote is back.
 * See core/queue/README.md "Integration".
 */
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../vault/localFs';
import { join } from 'node:path';
import type { QueueActionDto, QueueOpDto, ReachabilityDto } from '../api/contract';
import { CcsError, isCcsError } from '../common/errors';
import { KeychainUnavailableError, OsKeychain, type SecretStore } from '../keychain/keychain';
import { DEFAULT_BACKOFF, backoffPolicy } from '../queue/backoff';
import { describeError } from '../queue/lastError';
import { SqliteQueue } from '../queue/SqliteQueue';
import type { BackoffPolicy, OpInfo, OpStatus } from '../queue/types';
import { StateDb } from '../vault/stateDb';
import type { DeviceConfig } from './deviceConfig';
import { acquireHomeLock } from './homeLock';

export const QUEUE_FILE = 'queue.db';
export const QUEUE_KEY_FILE = 'queue.key';
/** The keychain account of a device's queue key (keyStore 'os'). */
export const queueKeyAccount = (deviceId: string) => `queue/${deviceId}`;

/** A local change waiting to reach the remote; coalesced per item (`push:<vault path>`). */
export const PUSH_KIND = 'push';
export const pushCoalesceKey = (path: string) => `push:${path}`;
/**
 * A push op never gives up: it only records that an item changed, the sync itself decides what
 * to send, and a week offline must not turn queued changes into failed ones.
 */
export const PUSH_MAX_ATTEMPTS = 1_000_000_000;

/**
 * The device queue's schedule: a failed try waits min(10 min, 5 s · 2^(n−1)) with full jitter, but
 * never less than `baseMs` when the remote was unreachable (probing a dead remote every few ms is
 * pointless). Other op kinds keep the queue's default of 20 attempts.
 */
export const DEVICE_QUEUE_BACKOFF: BackoffPolicy = { baseMs: 5_000, capMs: 10 * 60_000, maxAttempts: DEFAULT_BACKOFF.maxAttempts };

/** Done and dropped ops are kept this long (for `ccsync queue --all`), then pruned. */
export const QUEUE_RETENTION_MS = 7 * 24 * 3_600_000;

export interface DeviceQueueOptions {
  /** Where the queue key lives for keyStore 'os' (tests: MemorySecretStore); default the OS keychain. */
  secretStore?: SecretStore;
  /** Overrides DEVICE_QUEUE_BACKOFF (tests use milliseconds). */
  backoff?: Partial<BackoffPolicy>;
  now?: () => number;
  random?: () => number;
  /** Things the user should know that do not stop the operation (a queue file moved aside). */
  onNotice?: (message: string) => void;
}

export function devicePolicy(opts: DeviceQueueOptions): BackoffPolicy {
  return backoffPolicy({ ...DEVICE_QUEUE_BACKOFF, ...opts.backoff });
}

// --- the queue key ----------------------------------------------------------------------------

/**
 * The queue's 32-byte key, independent of the vault keys (which need the remote to unlock):
 * - keyStore 'os': a random key in the OS keychain under `queue/<deviceId>`;
 * - keyStore 'none' (no keychain at setup), or the keychain is unavailable right now: a random
 *   key in `<home>/queue.key` (0600). It protects a copied queue.db, not a copied home.
 * Push ops carry no secret payload, so a lost or changed key costs only a rescan (see openDeviceQueue).
 */
export async function queueKey(home: string, config: DeviceConfig, opts: DeviceQueueOptions): Promise<Buffer> {
  if (config.keyStore === 'os') {
    const store = opts.secretStore ?? new OsKeychain();
    const account = queueKeyAccount(config.deviceId);
    try {
      const stored = await store.get(account);
      const key = stored ? Buffer.from(stored, 'base64') : null;
      if (key?.length === 32) return key;
      const fresh = randomBytes(32);
      await store.set(account, fresh.toString('base64'));
      return fresh;
    } catch (e) {
      if (!(e instanceof KeychainUnavailableError)) throw e;
      opts.onNotice?.(`${e.message}; the operation queue uses the key file ${join(home, QUEUE_KEY_FILE)} until the keychain is back`);
    }
  }
  return keyFromFile(join(home, QUEUE_KEY_FILE));
}

async function keyFromFile(file: string): Promise<Buffer> {
  const existing = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (existing?.length === 32) return existing;
  // Missing or damaged: a new key (a queue written with the old one is moved aside at open).
  const fresh = randomBytes(32);
  await writeFileAtomic(file, fresh, 0o600);
  return fresh;
}

// --- opening ----------------------------------------------------------------------------------

/**
 * Opens `<home>/queue.db`; the caller must hold the home lock (one owner per file, see
 * core/queue/README.md) and close it. A corrupt file is moved aside by the queue itself; a file
 * written with another key (keychain entry lost, vault re-joined) is moved aside here. Either
 * way `onNotice` says so, and the next scan queues the local changes again.
 */
export async function openDeviceQueue(home: string, config: DeviceConfig, opts: DeviceQueueOptions = {}): Promise<SqliteQueue> {
  const file = join(home, QUEUE_FILE);
  const key = await queueKey(home, config, opts);
  const options = { key, backoff: devicePolicy(opts), ...(opts.now ? { now: opts.now } : {}), ...(opts.random ? { random: opts.random } : {}) };
  let opened: ReturnType<typeof SqliteQueue.open>;
  try {
    opened = SqliteQueue.open(file, options);
  } catch (e) {
    if (!isCcsError(e, 'LOCKED')) throw e;
    const movedTo = moveAside(file, (opts.now ?? Date.now)());
    opts.onNotice?.(`the operation queue ${file} was written with another key (${e.message}); it was moved to ${movedTo} and a new, empty queue was created — pending local changes are found again by the next scan`);
    opened = SqliteQueue.open(file, options);
  }
  if (opened.recovered) opts.onNotice?.(opened.recovered.message);
  return opened.queue;
}

function moveAside(file: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
  let target = `${file}.other-key-${stamp}`;
  for (let n = 1; existsSync(target); n++) target = `${file}.other-key-${stamp}-${n}`;
  renameSync(file, target);
  for (const suffix of ['-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, target + suffix);
  return target;
}

/**
 * Home lock, then the queue: for `ccsync queue` and the host's queue calls. A running sync holds
 * the lock, so these wait for nobody: they fail with BUSY and say so.
 */
export async function withLockedDeviceQueue<T>(home: string, config: DeviceConfig, opts: DeviceQueueOptions, fn: (queue: SqliteQueue) => T | Promise<T>): Promise<T> {
  const release = await acquireHomeLock(home);
  try {
    const queue = await openDeviceQueue(home, config, opts);
    try {
      return await fn(queue);
    } finally {
      queue.close();
    }
  } finally {
    await release();
  }
}

// --- what `ccsync queue` and the UI show --------------------------------------------------------

const UNFINISHED: readonly OpStatus[] = ['pending', 'running', 'failed', 'blocked'];

const iso = (ms: number) => new Date(ms).toISOString();

export function toQueueOpDto(o: OpInfo): QueueOpDto {
  return {
    id: o.id,
    kind: o.kind,
    item: o.item,
    status: o.status,
    priority: o.priority,
    attempts: o.attempts,
    nextAttemptAt: o.status === 'pending' ? iso(o.nextAttemptAt) : null,
    lastError: o.lastError,
    dependsOn: o.dependsOn,
    createdAt: iso(o.createdAt),
    updatedAt: iso(o.updatedAt),
  };
}

/** Unfinished ops in enqueue order; `all` adds done and dropped ones (kept QUEUE_RETENTION_MS). */
export function listQueueOps(queue: SqliteQueue, all = false): QueueOpDto[] {
  return queue
    .list()
    .filter((o) => all || UNFINISHED.includes(o.status))
    .map(toQueueOpDto);
}

/** Ops that still need to happen: pending, running, failed or blocked. */
export function unfinishedCount(queue: SqliteQueue): number {
  const { byStatus } = queue.stats();
  return UNFINISHED.reduce((n, s) => n + byStatus[s], 0);
}

/** Local changes (push ops) waiting to be sent. */
export function queuedChanges(queue: SqliteQueue): number {
  return queue.list().filter((o) => o.kind === PUSH_KIND && (o.status === 'pending' || o.status === 'running')).length;
}

export function parseOpId(raw: unknown): number {
  const id = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw new CcsError('USAGE', `${JSON.stringify(raw)} is not a queue op id (a positive integer from \`ccsync queue\`)`);
  return id;
}

function mustGet(queue: SqliteQueue, id: number): OpInfo {
  const op = queue.get(id);
  if (!op) throw new CcsError('USAGE', `there is no queued op #${id}; \`ccsync queue --all\` lists every op this device still remembers`);
  return op;
}

const describeOp = (o: OpInfo) => `#${o.id} (${o.kind} ${o.item})`;

/** failed/blocked/waiting → runnable at the next sync (or the next automatic drain). */
export function retryQueueOp(queue: SqliteQueue, rawId: unknown): QueueActionDto {
  const id = parseOpId(rawId);
  const before = mustGet(queue, id);
  if (before.status === 'done') throw new CcsError('USAGE', `op ${describeOp(before)} is already done; there is nothing to retry`);
  if (before.status === 'running') throw new CcsError('USAGE', `op ${describeOp(before)} is running right now; there is nothing to retry`);
  const runnable = queue.retry(id);
  const after = mustGet(queue, id);
  const message =
    after.status === 'pending'
      ? `op ${describeOp(after)} will run at the next sync${runnable > 1 ? ` (${runnable} ops became runnable)` : ''}`
      : `op ${describeOp(after)} is still ${after.status}: ${after.lastError ?? 'see `ccsync queue`'}`;
  return { op: toQueueOpDto(after), message };
}

/** Discards an op; everything that depends on it is blocked. */
export function dropQueueOp(queue: SqliteQueue, rawId: unknown): QueueActionDto {
  const id = parseOpId(rawId);
  const before = mustGet(queue, id);
  if (before.status === 'done') throw new CcsError('USAGE', `op ${describeOp(before)} is already done; there is nothing to drop`);
  const dropped = queue.drop(id);
  const after = mustGet(queue, id);
  let message = dropped ? `dropped op ${describeOp(after)}` : `op ${describeOp(after)} was already dropped`;
  if (dropped && after.kind === PUSH_KIND) {
    message += `. ${after.item} is unchanged on disk, so the next scan queues it again unless it is ignored (add it to .ccsyncignore in the sync root to stop syncing it)`;
  }
  return { op: toQueueOpDto(after), message };
}

// --- reachability -------------------------------------------------------------------------------

const REACHABILITY_META = 'reachability';

const UNKNOWN: ReachabilityDto = { state: 'unknown', since: null, checkedAt: null, lastError: null, nextProbeAt: null, failedChecks: 0 };

export function reachabilityFrom(db: StateDb): ReachabilityDto {
  const raw = db.getMeta(REACHABILITY_META);
  if (!raw) return { ...UNKNOWN };
  try {
    const r = JSON.parse(raw) as Partial<ReachabilityDto>;
    if (r.state !== 'online' && r.state !== 'offline') return { ...UNKNOWN };
    return {
      state: r.state,
      since: typeof r.since === 'string' ? r.since : null,
      checkedAt: typeof r.checkedAt === 'string' ? r.checkedAt : null,
      lastError: typeof r.lastError === 'string' ? r.lastError : null,
      nextProbeAt: typeof r.nextProbeAt === 'string' ? r.nextProbeAt : null,
      failedChecks: typeof r.failedChecks === 'number' ? r.failedChecks : 0,
    };
  } catch {
    return { ...UNKNOWN };
  }
}

/** Local only: state.db, no key, no lock (state.db allows concurrent readers). */
export function readReachability(home: string): ReachabilityDto {
  const db = StateDb.open(join(home, 'state.db'));
  try {
    return reachabilityFrom(db);
  } finally {
    db.close();
  }
}

/**
 * Records one try of the remote. `error` null: reachable. Otherwise offline, with the next probe at
 * the queue's earliest pending attempt, or, with nothing queued, after a backoff of its own.
 */
export function recordReachability(home: string, error: unknown, nextAttemptAt: number | null, policy: BackoffPolicy, now: number): ReachabilityDto {
  const db = StateDb.open(join(home, 'state.db'));
  try {
    const prev = reachabilityFrom(db);
    const state = error === null ? 'online' : 'offline';
    const failedChecks = error === null ? 0 : prev.failedChecks + 1;
    const fallback = now + Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(30, failedChecks - 1));
    const next: ReachabilityDto = {
      state,
      since: prev.state === state && prev.since ? prev.since : iso(now),
      checkedAt: iso(now),
      lastError: error === null ? null : describeError(error),
      nextProbeAt: error === null ? null : iso(Math.max(nextAttemptAt ?? fallback, now + policy.baseMs)),
      failedChecks,
    };
    db.setMeta(REACHABILITY_META, JSON.stringify(next));
    return next;
  } finally {
    db.close();
  }
}

// --- which errors mean "the remote cannot be reached" ------------------------------------------

// Raw errors (a fetch that never got a response, a DNS failure) that reach us without a CcsError.
const NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EPIPE',
  'ENOTCONN',
  'ESTALE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * REMOTE_UNREACHABLE (network, timeouts, refused, 5xx, credentials the store refuses) and
 * REMOTE_NOT_FOUND (a folder remote whose drive is not mounted, a bucket that is gone): for a
 * device that is set up, both mean "the vault cannot be reached now", not "there is no vault".
 * Other CcsErrors are about this device or the data and are not reachability problems.
 */
export function isRemoteUnreachable(e: unknown): boolean {
  if (isCcsError(e)) return e.code === 'REMOTE_UNREACHABLE' || e.code === 'REMOTE_NOT_FOUND';
  for (let c: unknown = e, depth = 0; c !== null && typeof c === 'object' && depth < 6; depth++) {
    const o = c as { code?: unknown; name?: unknown; cause?: unknown };
    if (typeof o.code === 'string' && NETWORK_CODES.has(o.code)) return true;
    if (o.name === 'TimeoutError') return true;
    c = o.cause;
  }
  return false;
}
