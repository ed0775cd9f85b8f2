import type { ReachabilityDto, StatusDto, SyncProgressDto, SyncResultDto, SyncService } from '../api/contract';
import { readDeviceConfig } from '../engine/deviceConfig';
import { DEVICE_QUEUE_BACKOFF, dropQueueOp, listQueueOps, readReachability, retryQueueOp, withLockedDeviceQueue, type DeviceQueueOptions } from '../engine/deviceQueue';
import { acquireHomeLock } from '../engine/homeLock';
import { probeRemote, queuedSync, type QueuedSyncResult } from '../engine/queuedSync';
import type { UnlockOptions } from '../engine/session';
import { readStatus } from '../engine/status';
import type { SqliteQueue } from '../queue/SqliteQueue';
import { rateOrInfinity } from '../remotes/wrappers/ThrottledRemote';
import { TokenBucket } from '../transfer/tokenBucket';
import { TransferControl } from '../transfer/transferControl';
import type { AutoSyncOptions, HostAutoSync, SyncHost, SyncHostOptions } from './types';

/**
 * The one composition root: the Electron main process and the CLI daemon both build their
 * services here, so both transports expose the same behaviour.
 *
 * The host owns the home lock and the queue file only while it works (a sync, a probe, a queue
 * call), so `ccsync` commands keep working next to a running app.
 */
export async function createSyncHost(options: SyncHostOptions): Promise<SyncHost> {
  const { home } = options;
  const listeners = new Set<(s: StatusDto) => void>();
  const emit = async () => {
    if (listeners.size === 0) return;
    const status = await readStatus(home);
    for (const l of listeners) l(status);
  };
  const unlock: UnlockOptions = {
    ...(options.secretStore ? { secretStore: options.secretStore } : {}),
    ...(options.wrapRemote ? { wrapRemote: options.wrapRemote } : {}),
  };
  const queueOptions: DeviceQueueOptions = {
    ...(options.secretStore ? { secretStore: options.secretStore } : {}),
    ...(options.queueBackoff ? { backoff: options.queueBackoff } : {}),
    onNotice: options.onNotice ?? ((m) => console.warn(`ccsync: ${m}`)),
  };

  // One operation at a time in this process: the home lock keeps other processes out, but lets
  // its own pid in, so calls of this host (a sync, a probe, a queue listing) take turns here.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };
  const locked = <T>(fn: () => Promise<T>): Promise<T> =>
    serial(async () => {
      const release = await acquireHomeLock(home);
      try {
        return await fn();
      } finally {
        await release();
      }
    });
  const withQueue = <T>(fn: (queue: SqliteQueue) => T): Promise<T> => serial(async () => withLockedDeviceQueue(home, await readDeviceConfig(home), queueOptions, fn));

  // Transfers: one bandwidth limit for the host's lifetime (changeable while a sync runs), and
  // pause/resume/cancel and progress of the running sync.
  const bandwidth = new TokenBucket({ bytesPerSecond: Infinity });
  let control: TransferControl | null = null;
  let progress: SyncProgressDto | null = null;
  const progressListeners = new Set<(p: SyncProgressDto) => void>();
  const onProgress = (p: SyncProgressDto) => {
    progress = p;
    for (const l of progressListeners) l(p);
  };

  let running: Promise<SyncResultDto> | null = null;
  /** A second request while a sync runs (a click during an automatic run) joins the running one. */
  const syncOnce = (attemptAll: boolean): Promise<SyncResultDto> => {
    if (running) return running;
    const own = new TransferControl();
    control = own;
    running = locked(() => queuedSync(home, { ...queueOptions, unlock, attemptAll, sync: { control: own, bandwidth, onProgress } }))
      .then(toResultDto)
      .finally(() => {
        running = null;
        control = null;
        progress = null;
        void emit().catch(() => {});
      });
    return running;
  };

  const sync: SyncService = {
    getStatus: () => readStatus(home),
    syncNow: () => syncOnce(true),
    listQueue: () => withQueue((q) => listQueueOps(q)),
    retryOp: (id: number) => withQueue((q) => retryQueueOp(q, id)),
    dropOp: (id: number) => withQueue((q) => dropQueueOp(q, id)),
    getReachability: async () => readReachability(home),
    pauseSync: async () => control?.pause(),
    resumeSync: async () => control?.resume(),
    cancelSync: async () => control?.cancel('sync cancelled by the user'),
    setBandwidthLimit: async (bytesPerSecond: number | null) => bandwidth.setRate(rateOrInfinity(bytesPerSecond)),
    getProgress: async () => progress,
  };

  let loop: HostAutoSync | null = null;

  const startAutoSync = (o: AutoSyncOptions): HostAutoSync => {
    loop?.stop();
    const minProbe = Math.max(0, o.minProbeMs ?? 1_000);
    const maxProbe = Math.max(minProbe, o.maxProbeMs ?? DEVICE_QUEUE_BACKOFF.capMs);
    const idle = o.intervalMs > 0 ? o.intervalMs : maxProbe;
    const untilProbe = (r: ReachabilityDto) => Math.min(maxProbe, Math.max(minProbe, (r.nextProbeAt ? Date.parse(r.nextProbeAt) : 0) - Date.now()));
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = (ms: number) => {
      if (stopped) return;
      timer = setTimeout(() => void tick(), ms);
      timer.unref?.();
    };
    const tick = async (): Promise<void> => {
      let next = idle;
      try {
        const reach = readReachability(home);
        if (reach.state === 'offline') {
          if (reach.nextProbeAt && Date.parse(reach.nextProbeAt) > Date.now()) return schedule(untilProbe(reach));
          const probed = await locked(() => probeRemote(home, { ...queueOptions, unlock }));
          o.onRun?.({ reachability: probed });
          if (probed.state === 'offline') return schedule(untilProbe(probed));
          // Reachable again: drain the queue now, whatever the interval.
        } else if (o.intervalMs <= 0) {
          return schedule(idle);
        }
        o.onRun?.({ result: await syncOnce(false) });
      } catch (error) {
        o.onRun?.({ error });
        try {
          const reach = readReachability(home);
          if (reach.state === 'offline') next = untilProbe(reach);
        } catch {
          // keep the idle interval
        }
      }
      schedule(next);
    };
    schedule(0);
    const handle: HostAutoSync = {
      stop() {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
        if (loop === handle) loop = null;
      },
    };
    loop = handle;
    return handle;
  };

  return {
    sync,
    onDidChangeStatus(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onDidChangeProgress(listener) {
      progressListeners.add(listener);
      return () => progressListeners.delete(listener);
    },
    startAutoSync,
    async close() {
      loop?.stop();
      listeners.clear();
      progressListeners.clear();
      await running?.catch(() => {});
      await tail.catch(() => {});
    },
  };
}

function toResultDto(r: QueuedSyncResult): SyncResultDto {
  return { pushed: r.pushed, pulled: r.pulled, conflicts: r.conflicts, bytesUploaded: r.bytesUploaded, bytesDownloaded: r.bytesDownloaded, durationMs: r.durationMs, queued: r.queue.queued };
}
