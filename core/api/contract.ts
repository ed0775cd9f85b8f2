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
}

export interface ErrorDto {
  code: string;
  message: string;
}

export interface SyncService {
  getStatus(): Promise<StatusDto>;
  syncNow(): Promise<SyncResultDto>;
}

/** Service name → method names, so transports can reject anything else before dispatch. */
export const SERVICES = {
  sync: ['getStatus', 'syncNow'],
} as const satisfies Record<string, readonly string[]>;

export type ServiceName = keyof typeof SERVICES;

/** Events pushed from core to UI. */
export const EVENTS = ['onDidChangeStatus'] as const;
export type EventName = (typeof EVENTS)[number];

/** The IPC channel prefix used by the Electron transport. */
export const IPC_INVOKE_CHANNEL = 'ccsync:invoke';
export const IPC_EVENT_CHANNEL = 'ccsync:event';
