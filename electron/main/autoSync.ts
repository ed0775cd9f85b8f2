/**
 * Periodic sync for the desktop app. Runs never overlap: a call while a sync is in flight returns
 * the same promise (tray "Sync now" during an automatic run does not start a second one).
 */
import type { SyncResultDto, SyncService } from '../../core/api/contract';

export const DEFAULT_SYNC_INTERVAL_MINUTES = 5;

/** Minutes from an env value; "0" disables, anything unparsable gives the default. */
export function syncIntervalMs(raw: string | undefined, defaultMinutes = DEFAULT_SYNC_INTERVAL_MINUTES): number {
  const minutes = raw === undefined || raw.trim() === '' ? defaultMinutes : Number(raw);
  if (!Number.isFinite(minutes) || minutes < 0) return defaultMinutes * 60_000;
  return Math.round(minutes * 60_000);
}

export interface AutoSyncOptions {
  /** 0 disables the timer; runNow() still works. */
  intervalMs: number;
  onStart?: () => void;
  /** Called after every run, with the result or the error. */
  onDone?: (outcome: { result: SyncResultDto } | { error: unknown }) => void;
  timers?: {
    setInterval: (fn: () => void, ms: number) => unknown;
    clearInterval: (handle: unknown) => void;
  };
}

export interface AutoSync {
  /** Resolves with the result, or undefined when the run failed (the error goes to onDone). */
  runNow(): Promise<SyncResultDto | undefined>;
  readonly running: boolean;
  stop(): void;
}

export function startAutoSync(sync: Pick<SyncService, 'syncNow'>, options: AutoSyncOptions): AutoSync {
  const timers = options.timers ?? {
    setInterval: (fn: () => void, ms: number) => setInterval(fn, ms),
    clearInterval: (h: unknown) => clearInterval(h as ReturnType<typeof setInterval>),
  };
  let inFlight: Promise<SyncResultDto | undefined> | null = null;
  let stopped = false;

  const runNow = (): Promise<SyncResultDto | undefined> => {
    if (inFlight) return inFlight;
    if (stopped) return Promise.resolve(undefined);
    options.onStart?.();
    inFlight = (async () => {
      try {
        const result = await sync.syncNow();
        options.onDone?.({ result });
        return result;
      } catch (error) {
        options.onDone?.({ error });
        return undefined;
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  };

  const handle = options.intervalMs > 0 ? timers.setInterval(() => void runNow(), options.intervalMs) : null;

  return {
    runNow,
    get running() {
      return inFlight !== null;
    },
    stop() {
      stopped = true;
      if (handle !== null) timers.clearInterval(handle);
    },
  };
}
