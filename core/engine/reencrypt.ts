import { createHash } from 'node:crypto';
import { CcsError, isCcsError } from '../common/errors';
import { cryptoOffload } from '../crypto/cryptoOffload';
import { decryptObject, HEADER_LENGTH, readHeaderEpoch } from '../crypto/stream';
import type { SqliteQueue } from '../queue/SqliteQueue';
import type { DeviceSession } from './session';

/**
 * Background re-encryption after a key rotation (`ccsync rotate-key --reencrypt`). Every
 * encrypted object (packs, log entries, heads) becomes one queue op, so progress survives a crash
 * op by op. An op reads the object, and unless it is already under the target epoch or newer,
 * decrypts it (any epoch: the key chain holds them all), encrypts it under the target epoch with
 * the same name, replaces it with one atomic put, and reads it back to verify before the op is
 * acknowledged. At every instant the object under its name is either the old ciphertext or the
 * verified new one, and both open with the current key chain: no object is ever left that no
 * current key can open. The old ciphertext is gone the moment the replacement lands (remote puts
 * replace atomically: temp file + rename on folders, a single PUT on WebDAV and S3).
 */
export const REENCRYPT_KIND = 'reencrypt';
const PREFIXES = ['data/', 'log/', 'head/'];
const PLANNED_META = 'reencryptPlanned';

export interface ReencryptProgress {
  done: number;
  total: number;
  rewritten: number;
  skipped: number;
}

/** Enqueues one op per object for `epoch` (once per epoch; a re-plan after a crash only adds what is missing). */
export async function planReencryption(s: DeviceSession, queue: SqliteQueue, epoch: number): Promise<number> {
  if (s.db.getMeta(PLANNED_META) === String(epoch)) return 0;
  const objects: string[] = [];
  for (const p of PREFIXES) for (const o of await s.remote.list(p)) objects.push(o.name);
  objects.sort();
  // Metadata first: small, and what other devices read on every sync.
  const rank = (n: string) => (n.startsWith('head/') ? 2 : n.startsWith('log/') ? 1 : 0);
  queue.enqueueMany(objects.map((name) => ({ kind: REENCRYPT_KIND, item: name, payload: { epoch }, priority: -10 + rank(name), coalesceKey: `reencrypt:${name}` })));
  s.db.setMeta(PLANNED_META, String(epoch));
  return objects.length;
}

export function pendingReencryption(queue: SqliteQueue): number {
  let n = 0;
  for (const status of ['pending', 'running'] as const) n += queue.list({ status }).filter((o) => o.kind === REENCRYPT_KIND).length;
  return n;
}

/** Rewrites one object under the current epoch unless it is already under `minEpoch` or newer. */
export async function reencryptObject(s: DeviceSession, name: string, minEpoch: number): Promise<'rewritten' | 'skipped' | 'gone'> {
  const target = s.keys.currentEpoch;
  const key = s.keys.epochs.get(target);
  if (!key) throw new CcsError('LOCKED', `no key for epoch ${target} on this device`);
  let data: Buffer;
  try {
    data = await s.remote.get(name);
  } catch (e) {
    if (isCcsError(e, 'OBJECT_MISSING')) return 'gone'; // deleted since planning (e.g. a superseded head)
    throw e;
  }
  if (data.length >= HEADER_LENGTH && readHeaderEpoch(data.subarray(0, HEADER_LENGTH)) >= minEpoch) return 'skipped';
  const plain = decryptObject(data, name, (e) => s.keys.epochs.get(e));
  const digest = createHash('sha256').update(plain).digest();
  const fresh = await cryptoOffload().encrypt(plain, name, target, key);
  await s.remote.put(name, fresh);
  const back = await s.remote.get(name);
  const check = decryptObject(back, name, (e) => s.keys.epochs.get(e));
  if (readHeaderEpoch(back.subarray(0, HEADER_LENGTH)) < target || !createHash('sha256').update(check).digest().equals(digest)) {
    throw new CcsError('OBJECT_CORRUPT', `${name} did not read back as written after re-encryption`);
  }
  return 'rewritten';
}

/** Drains pending re-encryption ops with a small window of concurrent objects. */
export async function drainReencryption(
  s: DeviceSession,
  queue: SqliteQueue,
  opts: { concurrency?: number; onProgress?: (p: ReencryptProgress) => void; signal?: AbortSignal } = {},
): Promise<ReencryptProgress> {
  const window = opts.concurrency ?? 8;
  // An explicit run goes now: ops interrupted by a kill wait out no backoff, and ops that gave up
  // (e.g. the remote was away for long) get fresh attempts.
  for (const op of queue.list({ status: 'failed' })) if (op.kind === REENCRYPT_KIND) queue.retry(op.id);
  queue.wakeAll();
  const total = pendingReencryption(queue);
  const progress: ReencryptProgress = { done: 0, total, rewritten: 0, skipped: 0 };
  const failures: CcsError[] = [];
  for (;;) {
    if (opts.signal?.aborted) throw new CcsError('CANCELLED', 're-encryption paused; run `ccsync rotate-key --resume` to continue');
    const batch = queue.claim(window).filter((op) => {
      if (op.kind === REENCRYPT_KIND) return true;
      queue.release(op.id); // other kinds belong to the sync
      return false;
    });
    if (batch.length === 0) break;
    await Promise.all(
      batch.map(async (op) => {
        const planned = Math.max(Number((op.payload as { epoch?: number } | null)?.epoch ?? 0), 1);
        try {
          const r = await reencryptObject(s, op.item, planned);
          queue.complete(op.id);
          if (r === 'rewritten') progress.rewritten++;
          else progress.skipped++;
        } catch (e) {
          queue.fail(op.id, e, { permanent: isCcsError(e, 'OBJECT_CORRUPT') || isCcsError(e, 'FORMAT_UNSUPPORTED') });
          failures.push(isCcsError(e) ? new CcsError(e.code, `${op.item}: ${e.message}`) : new CcsError('INTERNAL', `${op.item}: ${String(e)}`));
        }
        progress.done++;
      }),
    );
    opts.onProgress?.({ ...progress });
    if (failures.length > 0) break;
  }
  const first = failures[0];
  if (first) throw new CcsError(first.code, `re-encryption stopped: ${failures.slice(0, 3).map((f) => f.message).join('; ')}; unfinished objects stay queued (\`ccsync queue\`) and \`ccsync rotate-key --resume\` continues`);
  return progress;
}
