import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { CcsError } from '../common/errors';
import type { ChunkRef, PackRef, VersionRecord } from '../engine/format';

/**
 * The device's local state in one SQLite file (better-sqlite3 12.x, WAL): the stat cache of the
 * working copy, every version record seen, the chunk index and per-device log cursors.
 *
 * synchronous=FULL: a sync commits a handful of transactions, so durability costs nothing
 * measurable here, and a lost commit would make the device re-derive versions it already pushed.
 */
export interface FileRow {
  path: string;
  localPath: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  mode: number;
  contentId: string;
  /** The vault version the working file equals; the base of the next local edit. */
  versionId: string | null;
  hashedAt: number;
}

export interface StoredChunk extends ChunkRef {
  pack: string;
  packSize: number;
}

const SCHEMA_VERSION = 2;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE files (
      path TEXT PRIMARY KEY, local_path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns TEXT NOT NULL,
      ctime_ns TEXT NOT NULL, ino TEXT NOT NULL, mode INTEGER NOT NULL, content_id TEXT NOT NULL,
      version_id TEXT, hashed_at INTEGER NOT NULL);
    CREATE TABLE versions (
      id TEXT PRIMARY KEY, path TEXT NOT NULL, record TEXT NOT NULL, is_head INTEGER NOT NULL);
    CREATE INDEX versions_by_path ON versions(path, is_head);
    CREATE TABLE packs (id TEXT PRIMARY KEY, size INTEGER NOT NULL);
    CREATE TABLE chunks (
      id TEXT PRIMARY KEY, pack TEXT NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,
      raw_length INTEGER NOT NULL, codec INTEGER NOT NULL);
    CREATE TABLE devices (id TEXT PRIMARY KEY, name TEXT NOT NULL, seq INTEGER NOT NULL);
  `,
  // Packs confirmed on the remote but not yet named by a published log entry: recorded as soon as
  // their upload completes, so a sync killed half-way resumes without sending them again.
  2: `
    ALTER TABLE packs ADD COLUMN published INTEGER NOT NULL DEFAULT 1;
  `,
};

export class StateDb {
  readonly db: Db;
  private readonly statements = new Map<string, Statement>();

  private constructor(db: Db) {
    this.db = db;
  }

  /** Prepared statements are cached: preparing costs more than running most of these queries. */
  private q(sql: string): Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  static open(file: string): StateDb {
    let db: Db;
    try {
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(String(check));
    } catch (e) {
      throw new CcsError('CONFIG_INVALID', `local state database ${file} is unreadable or corrupt (${(e as Error).message}); move it aside and run \`ccsync sync\` to rebuild it from the remote`, { cause: e });
    }
    const s = new StateDb(db);
    s.migrate();
    return s;
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new CcsError('FORMAT_UNSUPPORTED', `local state database has schema ${current}, newer than this app (${SCHEMA_VERSION}); upgrade ccsync`);
    }
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v}`);
      })();
    }
  }

  close(): void {
    this.db.close();
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getMeta(key: string): string | null {
    const row = this.q('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.q('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  // --- working copy ---------------------------------------------------------------------------

  allFiles(): Map<string, FileRow> {
    const rows = this.q('SELECT * FROM files').all() as Record<string, unknown>[];
    return new Map(rows.map((r) => [r.path as string, toFileRow(r)]));
  }

  getFile(path: string): FileRow | null {
    const r = this.q('SELECT * FROM files WHERE path = ?').get(path) as Record<string, unknown> | undefined;
    return r ? toFileRow(r) : null;
  }

  putFile(f: FileRow): void {
    this.q(
        `INSERT INTO files(path, local_path, size, mtime_ns, ctime_ns, ino, mode, content_id, version_id, hashed_at)
         VALUES (@path, @localPath, @size, @mtimeNs, @ctimeNs, @ino, @mode, @contentId, @versionId, @hashedAt)
         ON CONFLICT(path) DO UPDATE SET local_path = excluded.local_path, size = excluded.size,
           mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, ino = excluded.ino, mode = excluded.mode,
           content_id = excluded.content_id, version_id = excluded.version_id, hashed_at = excluded.hashed_at`,
      )
      .run(f);
  }

  deleteFile(path: string): void {
    this.q('DELETE FROM files WHERE path = ?').run(path);
  }

  // --- versions -------------------------------------------------------------------------------

  getVersion(id: string): VersionRecord | null {
    const r = this.q('SELECT record FROM versions WHERE id = ?').get(id) as { record: string } | undefined;
    return r ? (JSON.parse(r.record) as VersionRecord) : null;
  }

  hasVersion(id: string): boolean {
    return this.q('SELECT 1 FROM versions WHERE id = ?').get(id) !== undefined;
  }

  headsOf(path: string): VersionRecord[] {
    const rows = this.q('SELECT record FROM versions WHERE path = ? AND is_head = 1').all(path) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as VersionRecord);
  }

  /** Every path's maximal versions (the multi-value register's current values). */
  allHeads(): Map<string, VersionRecord[]> {
    const rows = this.q('SELECT record FROM versions WHERE is_head = 1').all() as { record: string }[];
    const out = new Map<string, VersionRecord[]>();
    for (const { record } of rows) {
      const v = JSON.parse(record) as VersionRecord;
      const list = out.get(v.path);
      if (list) list.push(v);
      else out.set(v.path, [v]);
    }
    return out;
  }

  historyOf(path: string): VersionRecord[] {
    const rows = this.q('SELECT record FROM versions WHERE path = ?').all(path) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as VersionRecord);
  }

  insertVersion(v: VersionRecord, isHead: boolean): void {
    this.q('INSERT OR IGNORE INTO versions(id, path, record, is_head) VALUES (?, ?, ?, ?)').run(v.id, v.path, JSON.stringify(v), isHead ? 1 : 0);
  }

  setHead(id: string, isHead: boolean): void {
    this.q('UPDATE versions SET is_head = ? WHERE id = ?').run(isHead ? 1 : 0, id);
  }

  allVersionRecords(): VersionRecord[] {
    const rows = this.q('SELECT record FROM versions').all() as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as VersionRecord);
  }

  // --- content index ----------------------------------------------------------------------------

  hasChunk(id: string): boolean {
    return this.q('SELECT 1 FROM chunks WHERE id = ?').get(id) !== undefined;
  }

  getChunk(id: string): StoredChunk | null {
    const r = this.q('SELECT c.id, c.pack, c.offset, c.length, c.raw_length AS rawLength, c.codec, p.size AS packSize FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.id = ?')
      .get(id) as StoredChunk | undefined;
    return r ?? null;
  }

  addPack(id: string, size: number, chunks: ChunkRef[], published = true): void {
    this.q('INSERT INTO packs(id, size, published) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET published = max(published, excluded.published)').run(id, size, published ? 1 : 0);
    const ins = this.q('INSERT OR IGNORE INTO chunks(id, pack, offset, length, raw_length, codec) VALUES (?, ?, ?, ?, ?, ?)');
    for (const c of chunks) ins.run(c.id, id, c.offset, c.length, c.rawLength, c.codec);
  }

  /** Packs uploaded by this device whose log entry was never written (a crash, a failed sync). */
  unpublishedPacks(): PackRef[] {
    const rows = this.q('SELECT id, size FROM packs WHERE published = 0').all() as { id: string; size: number }[];
    return rows.map((r) => ({ id: r.id, size: r.size, chunks: this.chunksOfPack(r.id) }));
  }

  markPublished(ids: string[]): void {
    for (const id of ids) this.q('UPDATE packs SET published = 1 WHERE id = ?').run(id);
  }

  allPacks(): { id: string; size: number }[] {
    return this.q('SELECT id, size FROM packs').all() as { id: string; size: number }[];
  }

  chunksOfPack(pack: string): ChunkRef[] {
    return this.q('SELECT id, offset, length, raw_length AS rawLength, codec FROM chunks WHERE pack = ? ORDER BY offset').all(pack) as ChunkRef[];
  }

  // --- devices and cursors ------------------------------------------------------------------------

  deviceSeq(device: string): number {
    const r = this.q('SELECT seq FROM devices WHERE id = ?').get(device) as { seq: number } | undefined;
    return r?.seq ?? 0;
  }

  setDevice(device: string, name: string, seq: number): void {
    this.q('INSERT INTO devices(id, name, seq) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, seq = max(seq, excluded.seq)').run(device, name, seq);
  }

  devices(): { id: string; name: string; seq: number }[] {
    return this.q('SELECT id, name, seq FROM devices').all() as { id: string; name: string; seq: number }[];
  }
}

function toFileRow(r: Record<string, unknown>): FileRow {
  return {
    path: r.path as string,
    localPath: r.local_path as string,
    size: r.size as number,
    mtimeNs: r.mtime_ns as string,
    ctimeNs: r.ctime_ns as string,
    ino: r.ino as string,
    mode: r.mode as number,
    contentId: r.content_id as string,
    versionId: (r.version_id as string | null) ?? null,
    hashedAt: r.hashed_at as number,
  };
}
