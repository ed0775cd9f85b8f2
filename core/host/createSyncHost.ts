import type { StatusDto, SyncResultDto, SyncService } from '../api/contract';
import { acquireHomeLock } from '../engine/homeLock';
import { openSession } from '../engine/session';
import { readStatus } from '../engine/status';
import { runSync } from '../engine/sync';
import type { SyncHost, SyncHostOptions } from './types';

/**
 * The one composition root: the Electron main process and the CLI daemon both build their
 * services here, so both transports expose the same behaviour.
 */
export async function createSyncHost(options: SyncHostOptions): Promise<SyncHost> {
  const listeners = new Set<(s: StatusDto) => void>();
  const emit = async () => {
    if (listeners.size === 0) return;
    const status = await readStatus(options.home);
    for (const l of listeners) l(status);
  };
  let running: Promise<SyncResultDto> | null = null;

  const sync: SyncService = {
    getStatus: () => readStatus(options.home),
    syncNow: () => {
      // A second click while a sync runs joins the running one instead of queueing another.
      running ??= (async () => {
        const release = await acquireHomeLock(options.home);
        try {
          const s = await openSession(options.home);
          try {
            const r = await runSync(s);
            return { pushed: r.pushed, pulled: r.pulled, conflicts: r.conflicts, bytesUploaded: r.bytesUploaded, bytesDownloaded: r.bytesDownloaded, durationMs: r.durationMs };
          } finally {
            s.close();
          }
        } finally {
          await release();
          running = null;
          void emit().catch(() => {});
        }
      })();
      return running;
    },
  };

  return {
    sync,
    onDidChangeStatus(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
      await running?.catch(() => {});
    },
  };
}
