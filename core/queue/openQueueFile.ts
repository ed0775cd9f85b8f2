import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { existsSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { CcsError, isCcsError } from '../common/errors';
import type { RecoveredQueue } from './types';

/** Damage found by our own checks (quick_check, missing key material), as opposed to SQLite errors. */
export class QueueFileCorrupt extends Error {
  override readonly name = 'QueueFileCorrupt';
}

/**
 * Opens `file` and runs `setup` on it. A corrupt file is renamed aside (with its -wal and -shm, so
 * the pair can still be inspected) and a fresh file is set up in its place: a damaged queue must
 * never become a crash loop, and everything in it can be rebuilt from a rescan. Other failures
 * (busy, no permission, disk full, a newer schema, a wrong key) are thrown: moving the file aside
 * would lose work that is intact.
 */
export function openQueueFile<T>(file: string, now: number, setup: (db: Db) => T): { value: T; recovered: RecoveredQueue | null } {
  try {
    return { value: openChecked(file, setup), recovered: null };
  } catch (e) {
    if (!isUnreadable(e, file)) throw describeOpenError(e, file);
    const reason = firstLine((e as Error).message);
    let movedTo: string;
    try {
      movedTo = moveAside(file, now);
    } catch (moveError) {
      throw new CcsError('CONFIG_INVALID', `the operation queue ${file} is unreadable (${reason}) and cannot be moved aside (${(moveError as Error).message}); move or delete it by hand`, { cause: e });
    }
    // The fresh file's first journal makes SQLite fsync the folder, which makes the rename durable too.
    const value = openChecked(file, setup);
    const message = `the operation queue ${file} was unreadable (${reason}); it was moved to ${movedTo} and a new, empty queue was created — pending work is found again by the next scan`;
    return { value, recovered: { movedTo, reason, message } };
  }
}

/**
 * One owner per queue file, for the connection's lifetime (locking_mode=EXCLUSIVE, taken at once
 * by an empty exclusive transaction): the owner returns interrupted 'running' ops to pending at
 * open, which is only safe when no other process is executing them, so a second opener gets BUSY.
 * A side benefit: no shared-memory WAL index and no file locking per transaction.
 */
function openChecked<T>(file: string, setup: (db: Db) => T): T {
  const db = new Database(file, { timeout: 1000 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new QueueFileCorrupt(`quick_check: ${quickCheckSummary(String(check))}`);
    return setup(db);
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * Damaged, or present but impossible to open or read (no permission, not a file, I/O errors):
 * either way the queue cannot be used, and a rebuilt one loses nothing. Busy, disk full and a
 * missing folder are not the file's fault and are reported instead.
 */
function isUnreadable(e: unknown, file: string): boolean {
  if (e instanceof QueueFileCorrupt) return true;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return true;
  return existsSync(file) && (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_READONLY'));
}

function describeOpenError(e: unknown, file: string): unknown {
  if (isCcsError(e)) return e;
  const code = String((e as { code?: unknown } | null)?.code ?? '');
  const detail = firstLine((e as Error)?.message ?? String(e));
  if (code.startsWith('SQLITE_BUSY')) return new CcsError('BUSY', `the operation queue ${file} is open in another ccsync process (one owner at a time); ask that process, or stop it first`, { cause: e });
  if (code === 'SQLITE_FULL') return new CcsError('DISK_FULL', `the operation queue ${file}: no space left on device`, { cause: e });
  if (!existsSync(dirname(file))) return new CcsError('CONFIG_INVALID', `the operation queue's folder ${dirname(file)} does not exist`, { cause: e });
  return new CcsError('CONFIG_INVALID', `the operation queue ${file} cannot be created (${detail}); check the folder's permissions`, { cause: e });
}

/** A timestamp suffix (no ':' so the name is valid everywhere), plus a counter if that exists too. */
function moveAside(file: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
  let target = `${file}.corrupt-${stamp}`;
  for (let n = 1; existsSync(target); n++) target = `${file}.corrupt-${stamp}-${n}`;
  renameSync(file, target);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(file + suffix)) renameSync(file + suffix, target + suffix);
  }
  return target;
}

/** quick_check opens with a "*** in database main ***" banner; the first finding says more. */
function quickCheckSummary(report: string): string {
  return report.split('\n').find((l) => l.trim() !== '' && !l.startsWith('***')) ?? report;
}

function firstLine(s: string): string {
  const line = s.split('\n', 1)[0] ?? s;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
