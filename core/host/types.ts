import type { StatusDto, SyncService } from '../api/contract';

/** Options for the one composition root shared by the CLI and the Electron main process. */
export interface SyncHostOptions {
  /** Per-device state directory (the CLI's --home / CCSYNC_HOME). */
  home: string;
}

/** What `createSyncHost` returns: the services of the contract plus lifecycle. */
export interface SyncHost {
  readonly sync: SyncService;
  /** Subscribe to status changes; returns an unsubscribe function. */
  onDidChangeStatus(listener: (status: StatusDto) => void): () => void;
  close(): Promise<void>;
}
