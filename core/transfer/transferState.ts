import { CcsError } from '../common/errors';
import type { QueueDb } from '../queue/queueDb';

/** A part (or chunk) the remote confirmed. Part numbers start at 1, as in S3 multipart uploads. */
export interface ConfirmedPart {
  partNumber: number;
  size: number;
  etag: string | null;
}

export interface TransferRecord {
  key: string;
  uploadId: string | null;
  partSize: number | null;
  totalBytes: number | null;
  /** Sorted by part number. */
  parts: ConfirmedPart[];
  createdAt: number;
  updatedAt: number;
}

/**
 * In-flight transfers in the queue's file (tables `transfers`, `transfer_parts`): which parts the
 * remote has confirmed, so that after a crash or kill -9 a transfer continues from the last
 * confirmed part instead of from zero. Key it by the op's idempotency key: a replayed op finds its
 * own state, and a payload replaced by coalescing (new key) never resumes the old content.
 *
 * Durability: `start` is a durable commit (it records a remote resource, e.g. a multipart upload
 * id, that would otherwise be orphaned); part confirmations are not: losing one to power loss only
 * sends that part again.
 */
export class TransferState {
  constructor(
    private readonly db: QueueDb,
    private readonly now: () => number = Date.now,
  ) {}

  /** Begins (or restarts, discarding confirmed parts) the transfer `key`. */
  start(key: string, init: { uploadId?: string | null; partSize?: number | null; totalBytes?: number | null } = {}): TransferRecord {
    const now = this.now();
    this.db.write(true, () => {
      this.db.q('DELETE FROM transfer_parts WHERE key = ?').run(key);
      this.db
        .q(
          `INSERT INTO transfers (key, upload_id, part_size, total_bytes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET upload_id = excluded.upload_id, part_size = excluded.part_size,
             total_bytes = excluded.total_bytes, created_at = excluded.created_at, updated_at = excluded.updated_at`,
        )
        .run(key, init.uploadId ?? null, init.partSize ?? null, init.totalBytes ?? null, now, now);
    });
    return this.get(key)!;
  }

  confirmPart(key: string, part: ConfirmedPart): void {
    this.confirmParts(key, [part]);
  }

  /** Records parts the remote acknowledged, in one commit. Re-confirming a part replaces it. */
  confirmParts(key: string, parts: readonly ConfirmedPart[]): void {
    for (const p of parts) {
      if (!Number.isSafeInteger(p.partNumber) || p.partNumber < 1 || !Number.isSafeInteger(p.size) || p.size < 0) {
        throw new CcsError('INTERNAL', `transfer ${key}: invalid part ${JSON.stringify(p)}`);
      }
    }
    const now = this.now();
    this.db.write(false, () => {
      if (this.db.q('UPDATE transfers SET updated_at = ? WHERE key = ?').run(now, key).changes === 0) {
        throw new CcsError('INTERNAL', `transfer ${key}: confirmPart before start`);
      }
      const upsert = this.db.q(
        `INSERT INTO transfer_parts (key, part, size, etag) VALUES (?, ?, ?, ?)
         ON CONFLICT (key, part) DO UPDATE SET size = excluded.size, etag = excluded.etag`,
      );
      for (const p of parts) upsert.run(key, p.partNumber, p.size, p.etag);
    });
  }

  get(key: string): TransferRecord | null {
    const row = this.db.q('SELECT * FROM transfers WHERE key = ?').get(key) as
      | { key: string; upload_id: string | null; part_size: number | null; total_bytes: number | null; created_at: number; updated_at: number }
      | undefined;
    if (!row) return null;
    const parts = this.db.q('SELECT part AS partNumber, size, etag FROM transfer_parts WHERE key = ? ORDER BY part').all(key) as ConfirmedPart[];
    return { key, uploadId: row.upload_id, partSize: row.part_size, totalBytes: row.total_bytes, parts, createdAt: row.created_at, updatedAt: row.updated_at };
  }

  /**
   * Where a sequential transfer continues: after the longest run of confirmed parts from part 1.
   * Parts confirmed beyond a gap (parallel uploads) are in `get(key).parts` for the caller to skip.
   */
  resumePoint(key: string): { nextPart: number; offset: number } {
    let nextPart = 1;
    let offset = 0;
    for (const p of this.get(key)?.parts ?? []) {
      if (p.partNumber !== nextPart) break;
      nextPart++;
      offset += p.size;
    }
    return { nextPart, offset };
  }

  /** Forgets a finished or abandoned transfer. */
  clear(key: string): void {
    this.db.write(false, () => {
      this.db.q('DELETE FROM transfer_parts WHERE key = ?').run(key);
      this.db.q('DELETE FROM transfers WHERE key = ?').run(key);
    });
  }

  /** Every transfer with state, oldest first: the engine clears those whose op is gone. */
  keys(): string[] {
    return (this.db.q('SELECT key FROM transfers ORDER BY created_at, key').all() as { key: string }[]).map((r) => r.key);
  }
}
