import type { OpInfo, OpStatus } from './types';

/** A row of `ops` as SQLite returns it. */
export interface OpRow {
  id: number;
  idem_key: string;
  kind: string;
  item: string;
  payload: Buffer;
  priority: number;
  coalesce_key: string | null;
  status: OpStatus;
  waiting: number;
  attempts: number;
  max_attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  merged_into: number | null;
  created_at: number;
  updated_at: number;
}

/** Everything `list` and `get` show; the payload stays in the file. */
export const INFO_SELECT = `
  SELECT id, idem_key, kind, item, priority, status, coalesce_key, attempts, max_attempts, next_attempt_at, last_error,
    merged_into, created_at, updated_at, (SELECT json_group_array(dep) FROM deps WHERE op = ops.id) AS deps
  FROM ops`;

export type InfoRow = Omit<OpRow, 'payload' | 'waiting'> & { deps: string };

export function toInfo(r: InfoRow): OpInfo {
  return {
    id: r.id,
    idempotencyKey: r.idem_key,
    kind: r.kind,
    item: r.item,
    priority: r.priority,
    status: r.status,
    dependsOn: (JSON.parse(r.deps) as number[]).sort((a, b) => a - b),
    coalesceKey: r.coalesce_key,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    mergedInto: r.merged_into,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

