import type { Command } from 'commander';
import type { QueueActionDto, QueueOpDto, ReachabilityDto } from '../api/contract';
import { readDeviceConfig } from '../engine/deviceConfig';
import { acquireHomeLock } from '../engine/homeLock';
import { queuedSync, type QueuedSyncResult } from '../engine/queuedSync';
import type { DeviceSession } from '../engine/session';
import type { SyncOptions, SyncReport } from '../engine/sync';
import { homeOf, passwordFrom } from './common';
import { dropQueueOp, listQueueOps, readReachability, retryQueueOp, withLockedDeviceQueue, type DeviceQueueOptions } from '../engine/deviceQueue';
import type { SqliteQueue } from '../queue/SqliteQueue';
import type { OpStatus } from '../queue/types';

export interface QueueCommandHelpers {
  homeOf(cmd: Command): string;
  print(json: boolean, value: unknown, text: string): void;
}

/** Shape of `ccsync queue --json`. Field names are a public interface: add, never rename. */
export interface QueueListJson {
  reachability: ReachabilityDto;
  /** Unfinished ops (with --all: every op still remembered), in enqueue order. */
  ops: QueueOpDto[];
  /** Every op of the file by status, including done and dropped ones not yet pruned. */
  counts: Record<OpStatus, number>;
}

const notice = (m: string) => process.stderr.write(`ccsync: warning: ${m}\n`);

/**
 * `ccsync sync`: home lock, then queuedSync (local changes recorded in the queue first, so they
 * survive an unreachable remote). An unreachable remote fails with REMOTE_UNREACHABLE (exit 1):
 * "remote unreachable: …; N changes are queued and will be sent when it is back".
 */
export async function syncThroughQueue(
  cmd: Command,
  opts: { passwordStdin?: boolean },
  sync: SyncOptions,
  run?: (session: DeviceSession, options: SyncOptions) => Promise<SyncReport>,
): Promise<QueuedSyncResult> {
  const home = homeOf(cmd);
  const password = await passwordFrom(opts, false);
  const release = await acquireHomeLock(home);
  try {
    return await queuedSync(home, { unlock: password !== undefined ? { password } : {}, sync, ...(run ? { run } : {}), onNotice: notice });
  } finally {
    await release();
  }
}

/** Queue commands work offline and without the vault password: the queue key is local. */
export function registerQueueCommands(program: Command, helpers: QueueCommandHelpers): void {
  const options = (): DeviceQueueOptions => ({ onNotice: notice });
  const withQueue = async <T>(cmd: Command, fn: (queue: SqliteQueue) => T): Promise<T> => {
    const home = helpers.homeOf(cmd);
    return withLockedDeviceQueue(home, await readDeviceConfig(home), options(), fn);
  };

  const queue = program
    .command('queue')
    .description('show the operations waiting for the remote (local changes made offline, retries), with attempts, next attempt and last error')
    .option('--json', 'print JSON')
    .option('--all', 'also show done and dropped ops (kept for a week)')
    .action(async (opts: { json?: boolean; all?: boolean }, cmd: Command) => {
      const home = helpers.homeOf(cmd);
      const { ops, counts } = await withQueue(cmd, (q) => ({ ops: listQueueOps(q, !!opts.all), counts: q.stats().byStatus }));
      const reachability = readReachability(home);
      const json: QueueListJson = { reachability, ops, counts };
      // An op failing for the reason the remote is offline does not repeat it on every line.
      const shown = (o: QueueOpDto) => opLine(o, reachability.state === 'offline' ? reachability.lastError : null);
      const heading = `${ops.length}${opts.all ? '' : ' queued'} op${ops.length === 1 ? '' : 's'}:`;
      helpers.print(!!opts.json, json, [reachabilityLine(reachability), ...(ops.length === 0 ? ['queue empty'] : [heading, ...ops.map(shown)])].join('\n'));
    });

  const action = (name: 'retry' | 'drop', description: string, run: typeof retryQueueOp) =>
    queue
      .command(`${name} <id>`)
      .description(description)
      .option('--json', 'print JSON')
      .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
        const r: QueueActionDto = await withQueue(cmd, (q) => run(q, id));
        helpers.print(!!opts.json, r, r.message);
      });
  action('retry', 'make a failed, blocked or waiting op runnable now (it runs with the next sync)', retryQueueOp);
  action('drop', 'discard an op (a dropped local change is queued again by the next scan unless the file is ignored)', dropQueueOp);
}

function reachabilityLine(r: ReachabilityDto): string {
  if (r.state === 'unknown') return 'remote: not tried yet';
  if (r.state === 'online') return `remote: online since ${r.since ?? '?'} (last check ${r.checkedAt ?? '?'})`;
  return `remote: offline since ${r.since ?? '?'} (${r.failedChecks} failed tr${r.failedChecks === 1 ? 'y' : 'ies'}, last ${r.checkedAt ?? '?'}, next ${r.nextProbeAt ?? 'with the next sync'}): ${r.lastError ?? 'unknown error'}`;
}

function opLine(o: QueueOpDto, offlineError: string | null): string {
  const parts = [`  #${o.id}`, o.status.padEnd(7), o.kind, o.item, `priority ${o.priority}`, `attempts ${o.attempts}`];
  if (o.nextAttemptAt) parts.push(`next ${o.nextAttemptAt}`);
  if (o.dependsOn.length > 0) parts.push(`after ${o.dependsOn.map((d) => `#${d}`).join(', ')}`);
  if (o.lastError !== null && o.lastError === offlineError) return `${parts.join('  ')}  (remote unreachable, see above)`;
  return parts.join('  ') + (o.lastError ? `\n      last error: ${o.lastError}` : '');
}
