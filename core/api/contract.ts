/**
 * The one typed contract between the UI and the sync core. Both transports (Electron IPC through
 * the preload, and later the daemon's WebSocket) carry exactly these calls. This file must stay
 * free of Node and DOM types: the renderer compiles it too.
 *
 * Convention (VS Code ProxyChannel): methods return promises; events are `onDidX` names listed
 * in EVENTS. Errors cross as { code, message } with the codes of core/common/errors.ts.
 */

/** How an item in the sync root relates to the vault. */
export type ItemState = 'synced' | 'pending-up' | 'pending-down' | 'conflict' | 'error' | 'ignored';

/** What an item is for Claude Code, derived from its path (see core/common/itemType.ts). */
export type ItemType =
  | 'skill'
  | 'agent'
  | 'command'
  | 'output-style'
  | 'settings'
  | 'memory'
  | 'mcp'
  | 'hook'
  | 'plugin'
  | 'other';

export interface ItemDto {
  path: string;
  type: ItemType;
  state: ItemState;
  /** Present when state is 'error': why this item is not synced. */
  message?: string;
}

export interface DeviceDto {
  id: string;
  name: string;
}

/** Shape of `ccsync status --json`. Field names are relied on by other tooling: add, never rename. */
export interface StatusDto {
  device: DeviceDto;
  root: string;
  remote: string;
  items: ItemDto[];
  /** Local changes not yet pushed. */
  queue: number;
  /** ISO-8601 time of the last completed sync, or null. */
  lastSync: string | null;
}

/** Shape of `ccsync sync --json`. */
export interface SyncResultDto {
  pushed: number;
  pulled: number;
  conflicts: number;
  bytesUploaded: number;
  bytesDownloaded: number;
  durationMs: number;
  /** Ops still in the device's queue after the sync (pending, failed or blocked); see `ccsync queue`. */
  queued?: number;
}

/** The life of a queued op (core/queue/README.md "States"). */
export type QueueOpStatus = 'pending' | 'running' | 'done' | 'failed' | 'blocked' | 'dropped';

/**
 * One op of the device's durable queue, as `ccsync queue --json` and the UI show it. Field names
 * are a public interface: add, never rename. Times are ISO-8601.
 */
export interface QueueOpDto {
  id: number;
  /** "push" (a local change waiting to be sent), or another kind such as "reencrypt". */
  kind: string;
  /** What it acts on; for "push" the vault path of the changed or deleted item. */
  item: string;
  status: QueueOpStatus;
  /** Higher runs first. */
  priority: number;
  /** Attempts so far (a sync that could not reach the remote counts as one). */
  attempts: number;
  /** When a pending op is tried next; null unless pending. */
  nextAttemptAt: string | null;
  lastError: string | null;
  /** Ops that must succeed first. */
  dependsOn: number[];
  createdAt: string;
  updatedAt: string;
}

/** What `retryOp` and `dropOp` did, in one sentence for the user. */
export interface QueueActionDto {
  op: QueueOpDto;
  message: string;
}

/** Whether the remote could be reached the last time this device tried. */
export interface ReachabilityDto {
  /** unknown: never tried since the queue was introduced. */
  state: 'online' | 'offline' | 'unknown';
  /** When the current state began. */
  since: string | null;
  /** The last time the remote was tried (a sync or a probe). */
  checkedAt: string | null;
  /** Why the remote is unreachable (while offline). */
  lastError: string | null;
  /** While offline: when the remote is probed again (the queue's backoff schedule). */
  nextProbeAt: string | null;
  /** Failed tries in a row. */
  failedChecks: number;
}

/** Where the running sync is: `getProgress()` and the onDidChangeProgress event (at most 10/s). */
export interface SyncProgressDto {
  phase: 'scan' | 'upload' | 'download' | 'done';
  /** Upload: bytes sent to the remote (encrypted); download: bytes of file content fetched. */
  bytesDone: number;
  /** Upload: an upper bound, refined as already-stored chunks are found; download: exact. */
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** Smoothed over the last seconds. */
  bytesPerSecond: number;
  /** null while it cannot be estimated (nothing moving yet, paused). */
  etaSeconds: number | null;
  paused: boolean;
}

export interface ErrorDto {
  code: string;
  message: string;
}

export interface SyncService {
  getStatus(): Promise<StatusDto>;
  syncNow(): Promise<SyncResultDto>;
  /** Unfinished ops of the device's queue (pending, running, failed, blocked), in enqueue order. */
  listQueue(): Promise<QueueOpDto[]>;
  /** Makes a failed, blocked or waiting op runnable now. */
  retryOp(id: number): Promise<QueueActionDto>;
  /** Discards an op; a dropped "push" comes back with the next scan unless the file is ignored. */
  dropOp(id: number): Promise<QueueActionDto>;
  getReachability(): Promise<ReachabilityDto>;
  /** Pauses the transfers of the running sync (no-op when none runs); they wait at their next slice. */
  pauseSync(): Promise<void>;
  resumeSync(): Promise<void>;
  /** Stops the running sync: it fails with CANCELLED; nothing half-done is recorded. */
  cancelSync(): Promise<void>;
  /** Bytes per second for all transfers, null for none; applies at once, also to a running sync. */
  setBandwidthLimit(bytesPerSecond: number | null): Promise<void>;
  /** The progress of the running sync, null when none runs. */
  getProgress(): Promise<SyncProgressDto | null>;
}

/** Service name → method names, so transports can reject anything else before dispatch. */
export const SERVICES = {
  sync: ['getStatus', 'syncNow', 'listQueue', 'retryOp', 'dropOp', 'getReachability', 'pauseSync', 'resumeSync', 'cancelSync', 'setBandwidthLimit', 'getProgress'],
} as const satisfies Record<string, readonly string[]>;

export type ServiceName = keyof typeof SERVICES;

/** Events pushed from core to UI. */
export const EVENTS = ['onDidChangeStatus', 'onDidChangeProgress'] as const;
export type EventName = (typeof EVENTS)[number];

/** The IPC channel prefix used by the Electron transport. */
export const IPC_INVOKE_CHANNEL = 'ccsync:invoke';
export const IPC_EVENT_CHANNEL = 'ccsync:event';
