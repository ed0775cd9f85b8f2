import type { Database, Statement } from 'better-sqlite3';
import type { Durability } from './types';

/**
 * One connection to the queue file, shared by the queue and the transfer state: cached prepared
 * statements and the per-commit choice of PRAGMA synchronous.
 *
 * Why per commit: in WAL mode a FULL commit fsyncs the WAL, and with it every frame before it, so
 * commits made at NORMAL earlier become durable too; WAL recovery replays frames in order and stops
 * at the first invalid one, so a durable commit never sits behind a lost one. That lets the
 * commits that acknowledge new work pay for an fsync while progress commits (whose loss replays an
 * op, which executors must tolerate anyway) do not. Measured in bench/queue.mjs.
 */
export class QueueDb {
  private readonly statements = new Map<string, Statement>();
  private level: 'FULL' | 'NORMAL' | null = null;
  private readonly inTransaction: (fn: () => unknown) => unknown;

  constructor(
    readonly raw: Database,
    private readonly durability: Durability,
  ) {
    this.inTransaction = raw.transaction((fn: () => unknown) => fn());
  }

  /** Preparing costs more than running most of these queries. */
  q(sql: string): Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.raw.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /**
   * Runs `fn` in one transaction. `acknowledges`: the commit tells a caller that new work or a
   * user's decision is recorded, so it must survive power loss.
   */
  write<T>(acknowledges: boolean, fn: () => T): T {
    if (!this.raw.inTransaction) this.setLevel(this.levelFor(acknowledges));
    return this.inTransaction(fn) as T;
  }

  private levelFor(acknowledges: boolean): 'FULL' | 'NORMAL' {
    if (this.durability === 'all') return 'FULL';
    if (this.durability === 'crash-only') return 'NORMAL';
    return acknowledges ? 'FULL' : 'NORMAL';
  }

  /**
   * Through db.pragma, never a cached statement: SQLite applies `PRAGMA synchronous = …` when the
   * statement is prepared, so preparing both levels up front silently leaves the last one in force.
   */
  /**
   * For a write that is a single statement (atomic on its own): skips BEGIN/COMMIT, which cost as
   * much as the statement. Inside a transaction it simply joins it.
   */
  writeOne<T>(acknowledges: boolean, fn: () => T): T {
    if (!this.raw.inTransaction) this.setLevel(this.levelFor(acknowledges));
    return fn();
  }

  private setLevel(level: 'FULL' | 'NORMAL'): void {
    if (this.level === level) return;
    this.raw.pragma(`synchronous = ${level}`);
    this.level = level;
  }

  close(): void {
    this.statements.clear();
    this.raw.close();
  }
}
