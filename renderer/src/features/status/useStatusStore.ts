/**
 * Status slice: the last StatusDto, loading/syncing flags, the last sync result and the last error
 * (with its code). Logic lives in the vanilla store so tests drive it without React.
 */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ErrorDto, StatusDto, SyncResultDto, SyncService } from '../../../../core/api/contract';
import { toErrorDto } from '../../ipc/errors';
import type { Transport } from '../../ipc/transport';

export interface StatusError extends ErrorDto {
  /** What failed: a refresh error clears on the next good refresh, a sync error only on the next good sync. */
  action: 'refresh' | 'sync';
}

export interface StatusState {
  status: StatusDto | null;
  /** A getStatus call is in flight. */
  loading: boolean;
  /** A syncNow call is in flight. */
  syncing: boolean;
  error: StatusError | null;
  lastResult: SyncResultDto | null;
  refresh(): Promise<void>;
  /** Coalesces: while a sync runs, further calls return the same promise. Null when it failed. */
  syncNow(): Promise<SyncResultDto | null>;
  /** A status pushed by the core (onDidChangeStatus). */
  receiveStatus(status: StatusDto): void;
}

export type StatusStore = StoreApi<StatusState>;

export function createStatusStore(sync: Pick<SyncService, 'getStatus' | 'syncNow'>): StatusStore {
  // Every refresh and every pushed status takes a ticket; an answer older than the newest is dropped.
  let ticket = 0;
  let pendingRefreshes = 0;
  let inFlightSync: Promise<SyncResultDto | null> | null = null;

  return createStore<StatusState>()((set, get) => ({
    status: null,
    loading: false,
    syncing: false,
    error: null,
    lastResult: null,

    async refresh() {
      const mine = ++ticket;
      pendingRefreshes++;
      set({ loading: true });
      try {
        const status = await sync.getStatus();
        if (mine === ticket) {
          const error = get().error;
          set({ status, error: error?.action === 'refresh' ? null : error });
        }
      } catch (e) {
        if (mine === ticket) set({ error: { ...toErrorDto(e), action: 'refresh' } });
      } finally {
        pendingRefreshes--;
        set({ loading: pendingRefreshes > 0 });
      }
    },

    syncNow() {
      if (inFlightSync) return inFlightSync;
      set({ syncing: true });
      inFlightSync = (async () => {
        try {
          const result = await sync.syncNow();
          set({ lastResult: result, error: null });
          await get().refresh();
          return result;
        } catch (e) {
          set({ error: { ...toErrorDto(e), action: 'sync' } });
          return null;
        } finally {
          inFlightSync = null;
          set({ syncing: false });
        }
      })();
      return inFlightSync;
    },

    receiveStatus(status) {
      ticket++;
      set({ status });
    },
  }));
}

/** Feeds onDidChangeStatus into the store; returns the unsubscribe function. */
export function connectStatusEvents(store: StatusStore, transport: Pick<Transport, 'subscribe'>): () => void {
  // The payload is the core's StatusDto (same contract on both ends of the transport).
  return transport.subscribe('onDidChangeStatus', (payload) => store.getState().receiveStatus(payload as StatusDto));
}

export const StatusStoreContext = createContext<StatusStore | null>(null);

/** React binding: select primitives or stable references (zustand 5 compares with Object.is). */
export function useStatusStore<T>(selector: (state: StatusState) => T): T {
  const store = useContext(StatusStoreContext);
  if (!store) throw new Error('useStatusStore: missing <StatusStoreContext.Provider>');
  return useStore(store, selector);
}
