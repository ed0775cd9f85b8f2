import type { Database } from 'better-sqlite3';
import { CcsError } from '../common/errors';

/**
 * The queue file's schema, versioned in PRAGMA user_version. It also holds the transfer state of
 * core/transfer (own tables), so an op and the parts it confirmed live and die in one file.
 */
export const SCHEMA_VERSION = 1;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;

    -- No AUTOINCREMENT (it writes sqlite_sequence on every insert): prune keeps the newest row, so
    -- ids still never repeat. idem_key has no index: nothing looks ops up by it, and random UUIDs
    -- would make it the costliest index to maintain.
    CREATE TABLE ops (
      id INTEGER PRIMARY KEY,
      idem_key TEXT NOT NULL,
      kind TEXT NOT NULL,
      item TEXT NOT NULL,
      payload BLOB NOT NULL,
      priority INTEGER NOT NULL,
      coalesce_key TEXT,
      status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'blocked', 'dropped')),
      waiting INTEGER NOT NULL,            -- dependencies not done yet; runnable only at 0
      attempts INTEGER NOT NULL,
      max_attempts INTEGER NOT NULL,
      next_attempt_at INTEGER NOT NULL,
      last_error TEXT,
      merged_into INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE TABLE deps (op INTEGER NOT NULL, dep INTEGER NOT NULL, PRIMARY KEY (op, dep)) WITHOUT ROWID;
    CREATE INDEX deps_by_dep ON deps (dep, op);

    -- The claim order, covering next_attempt_at so ops in backoff are skipped inside the index.
    CREATE INDEX ops_ready ON ops (priority DESC, id, next_attempt_at) WHERE status = 'pending' AND waiting = 0;
    CREATE INDEX ops_by_key ON ops (coalesce_key, status) WHERE coalesce_key IS NOT NULL;

    -- In the schema so that complete() is one atomic statement: success releases the dependents.
    CREATE TRIGGER ops_done AFTER UPDATE OF status ON ops
      WHEN NEW.status = 'done' AND OLD.status <> 'done'
    BEGIN
      UPDATE ops SET waiting = waiting - 1 WHERE id IN (SELECT op FROM deps WHERE dep = NEW.id);
    END;

    CREATE TABLE transfers (
      key TEXT PRIMARY KEY,
      upload_id TEXT,
      part_size INTEGER,
      total_bytes INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE transfer_parts (
      key TEXT NOT NULL,
      part INTEGER NOT NULL,
      size INTEGER NOT NULL,
      etag TEXT,
      PRIMARY KEY (key, part)
    ) WITHOUT ROWID;
  `,
};

export function migrate(db: Database, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new CcsError('FORMAT_UNSUPPORTED', `queue file ${file} has schema ${current}, newer than this app (${SCHEMA_VERSION}); upgrade ccsync`);
  }
  if (current === 0) {
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
    // Never adopt (or later move aside) somebody else's database that was passed by mistake.
    if (tables.n > 0) throw new CcsError('CONFIG_INVALID', `${file} is an SQLite database but not a ccsync queue; give the queue its own file`);
  }
  for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v}`);
    })();
  }
}
