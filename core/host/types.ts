import type { ReachabilityDto, StatusDto, SyncProgressDto, SyncResultDto, SyncService } from '../api/contract';
import type { SecretStore } from '../keychain/keychain';
import type { BackoffPolicy } from '../queue/types';
import type { Remote } from '../remotes/remote';

/** Options for the one composition root shared by the CLI and the Electron main process. */
export interface SyncHostOptions {
  /** Per-device state directory (the CLI's --home / CCSYNC_HOME). */
  home: string;
  /** Keychain for the vault key and the queue key (tests: MemorySecretStore); default the OS keychain. */
  secretStore?: SecretStore;
  /** Decorates the configured remote (tests: fault injection). */
  wrapRemote?: (remote: Remote) => Remote;
  /** Overrides the device queue's backoff (core/engine/deviceQueue.ts DEVICE_QUEUE_BACKOFF). */
  queueBackoff?: Partial<BackoffPolicy>;
  /** Things the user should know that do not fail a call (a corrupt queue moved aside); default console.warn. */
  onNotice?: (message: string) => void;
}

export interface AutoSyncOptions {
  /** Sync this often while the remote is reachable; 0: no periodic sync (offline probing still runs). */
  intervalMs: number;
  /** Probes while offline follow the queue's backoff, clamped to [minProbeMs, maxProbeMs]. Default 1 s. */
  minProbeMs?: number;
  /** Default: 10 minutes (the queue's backoff cap). */
  maxProbeMs?: number;
  /** After every automatic sync or probe. */
  onRun?: (outcome: { result: SyncResultDto } | { reachability: ReachabilityDto } | { error: unknown }) => void;
}

export interface HostAutoSync {
  stop(): void;
}

/** What `createSyncHost` returns: the services of the contract plus lifecycle. */
export interface SyncHost {
  readonly sync: SyncService;
  /** Subscribe to status changes; returns an unsubscribe function. */
  onDidChangeStatus(listener: (status: StatusDto) => void): () => void;
  /** Progress of the running sync, at most 10 times a second (the last one has phase 'done'). */
  onDidChangeProgress(listener: (progress: SyncProgressDto) => void): () => void;
  /**
   * Background sync: every `intervalMs` while online; while offline, a cheap probe of the remote
   * on the queue's backoff schedule, and a sync (draining the queue) as soon as it answers.
   * One loop per host: starting again replaces the previous loop.
   */
  startAutoSync(options: AutoSyncOptions): HostAutoSync;
  close(): Promise<void>;
}
