import type { QueueDb } from './queueDb';
import type { OpStatus } from './types';

/**
 * Walks and maintains the dependency edges (deps.op depends on deps.dep). Runs inside the
 * caller's transaction. Invariants kept here:
 * - ops.waiting = number of the op's dependencies that are not done;
 * - an op whose dependency is failed, blocked or dropped is blocked (never runnable);
 * - a pending op's priority ≥ the priority of every op waiting for it (priority inheritance, so a
 *   high-priority op is not stuck behind low-priority work it needs).
 */
export class DependencyGraph {
  constructor(private readonly db: QueueDb) {}

  /** Follows supersession (coalescing) to the op that now does the work of `id`. */
  resolve(id: number): { id: number; status: OpStatus } | null {
    let row = this.db.q('SELECT id, status, merged_into AS mergedInto FROM ops WHERE id = ?').get(id) as { id: number; status: OpStatus; mergedInto: number | null } | undefined;
    for (let hops = 0; row?.mergedInto != null && hops < 10_000; hops++) {
      row = this.db.q('SELECT id, status, merged_into AS mergedInto FROM ops WHERE id = ?').get(row.mergedInto) as typeof row;
    }
    return row ? { id: row.id, status: row.status } : null;
  }

  /** Whether any of `from` is `target` or (transitively) waits for it. Done ops end a path: their dependencies are all done. */
  anyReaches(from: readonly number[], target: number): boolean {
    const seen = new Set<number>();
    const stack = [...from];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (id === target) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      const deps = this.db.q("SELECT d.dep AS id FROM deps d JOIN ops o ON o.id = d.dep WHERE d.op = ? AND o.status <> 'done'").all(id) as { id: number }[];
      for (const d of deps) stack.push(d.id);
    }
    return false;
  }

  /** Adds edges op → deps (ignoring existing ones) and counts the new ones that are not done. */
  addEdges(op: number, deps: readonly { id: number; status: OpStatus }[]): void {
    let waiting = 0;
    for (const d of deps) {
      const added = this.db.q('INSERT OR IGNORE INTO deps (op, dep) VALUES (?, ?)').run(op, d.id).changes > 0;
      if (added && d.status !== 'done') waiting++;
    }
    if (waiting > 0) this.db.q('UPDATE ops SET waiting = waiting + ? WHERE id = ?').run(waiting, op);
  }

  /** The first dependency of `op` that keeps it from ever running, as a reason for last_error. */
  blockingReason(op: number): string | null {
    const row = this.db
      .q("SELECT o.id, o.kind, o.item, o.status FROM deps d JOIN ops o ON o.id = d.dep WHERE d.op = ? AND o.status IN ('failed', 'blocked', 'dropped') ORDER BY o.id LIMIT 1")
      .get(op) as { id: number; kind: string; item: string; status: OpStatus } | undefined;
    return row ? reasonFor(row) : null;
  }

  /** Marks every pending op downstream of `root` blocked, with `reason`. */
  blockDependents(root: number, reason: string, now: number): void {
    const stack = [root];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const dependents = this.db.q("SELECT o.id FROM deps d JOIN ops o ON o.id = d.op WHERE d.dep = ? AND o.status = 'pending'").all(id) as { id: number }[];
      for (const d of dependents) {
        this.db.q("UPDATE ops SET status = 'blocked', last_error = ?, updated_at = ? WHERE id = ?").run(reason, now, d.id);
        stack.push(d.id);
      }
    }
  }

  /** Returns blocked ops downstream of `root` to pending where nothing blocks them any more. */
  unblockDependents(root: number, now: number): number {
    let unblocked = 0;
    const stack = [root];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const dependents = this.db.q("SELECT o.id FROM deps d JOIN ops o ON o.id = d.op WHERE d.dep = ? AND o.status = 'blocked'").all(id) as { id: number }[];
      for (const d of dependents) {
        const reason = this.blockingReason(d.id);
        if (reason !== null) {
          this.db.q('UPDATE ops SET last_error = ?, updated_at = ? WHERE id = ?').run(reason, now, d.id);
          continue;
        }
        this.db.q("UPDATE ops SET status = 'pending', last_error = NULL, updated_at = ? WHERE id = ?").run(now, d.id);
        unblocked++;
        stack.push(d.id);
      }
    }
    return unblocked;
  }

  /** The failed or dropped ops upstream of a blocked op: what has to be retried to unblock it. */
  rootCauses(op: number): number[] {
    const roots: number[] = [];
    const seen = new Set<number>([op]);
    const stack = [op];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const deps = this.db
        .q("SELECT o.id, o.status FROM deps d JOIN ops o ON o.id = d.dep WHERE d.op = ? AND o.status IN ('failed', 'blocked', 'dropped')")
        .all(id) as { id: number; status: OpStatus }[];
      for (const d of deps) {
        if (seen.has(d.id)) continue;
        seen.add(d.id);
        if (d.status !== 'blocked') roots.push(d.id);
        // A dropped op may itself be waiting on something that failed.
        if (d.status !== 'failed') stack.push(d.id);
      }
    }
    return roots;
  }

  /** Raises the unfinished ops that `op` waits for (transitively) to at least `priority`. */
  inheritPriority(op: number, priority: number): void {
    const stack = [op];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const deps = this.db
        .q("SELECT o.id FROM deps d JOIN ops o ON o.id = d.dep WHERE d.op = ? AND o.status IN ('pending', 'blocked', 'failed') AND o.priority < ?")
        .all(id, priority) as { id: number }[];
      for (const d of deps) {
        this.db.q('UPDATE ops SET priority = ? WHERE id = ?').run(priority, d.id);
        stack.push(d.id);
      }
    }
  }

  /** Makes everything that waited for `from` wait for `to` instead. */
  repoint(from: number, to: number, now: number): void {
    const dependents = this.db.q('SELECT d.op AS id, o.priority FROM deps d JOIN ops o ON o.id = d.op WHERE d.dep = ?').all(from) as { id: number; priority: number }[];
    for (const d of dependents) {
      this.db.q('DELETE FROM deps WHERE op = ? AND dep = ?').run(d.id, from);
      // `from` was not done, so it was counted in waiting; `to` is not done either.
      const added = this.db.q('INSERT OR IGNORE INTO deps (op, dep) VALUES (?, ?)').run(d.id, to).changes > 0;
      if (!added) this.db.q('UPDATE ops SET waiting = waiting - 1, updated_at = ? WHERE id = ?').run(now, d.id);
      this.db.q('UPDATE ops SET priority = max(priority, ?) WHERE id = ?').run(d.priority, to);
    }
    this.inheritPriority(to, (this.db.q('SELECT priority FROM ops WHERE id = ?').get(to) as { priority: number }).priority);
  }
}

export function reasonFor(dep: { id: number; kind: string; item: string; status: OpStatus }): string {
  const what = `dependency #${dep.id} (${dep.kind} ${dep.item})`;
  if (dep.status === 'failed') return `${what} failed`;
  if (dep.status === 'dropped') return `${what} was dropped`;
  return `${what} is blocked`;
}
