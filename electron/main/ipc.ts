/**
 * Binds the contract to Electron IPC generically: one invoke handler for every service/method in
 * SERVICES and one event channel for every name in EVENTS. Adding to the contract needs no edit here.
 */
import { BrowserWindow, ipcMain } from 'electron';
import { EVENTS, IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL, type EventName } from '../../core/api/contract';
import type { SyncHost } from '../../core/host/types';
import type { InvokeResult } from '../../renderer/src/ipc/bridge';
import { dispatch, toErrorDto, type ServiceTable } from './dispatch';

export function bindContract(
  getServices: () => Promise<ServiceTable>,
  isAllowedSender: (frameUrl: string | undefined) => boolean,
): () => void {
  ipcMain.handle(IPC_INVOKE_CHANNEL, async (event, service: unknown, method: unknown, args: unknown): Promise<InvokeResult> => {
    const frame = event.senderFrame;
    if (!frame || frame.parent !== null || !isAllowedSender(frame.url)) {
      console.warn(`ccsync: rejected a call from ${frame?.url ?? 'a destroyed frame'}`);
      return { ok: false, error: { code: 'USAGE', message: 'caller not allowed' } };
    }
    let services: ServiceTable;
    try {
      services = await getServices();
    } catch (e) {
      // The core failed to start: every call reports why, so the UI can show it.
      return { ok: false, error: toErrorDto(e) };
    }
    const result = await dispatch(services, service, method, args);
    if (!result.ok && result.error.code === 'INTERNAL') console.error(`ccsync: ${String(service)}.${String(method)}:`, result.error.message);
    return result;
  });
  return () => ipcMain.removeHandler(IPC_INVOKE_CHANNEL);
}

function broadcast(event: EventName, payload: unknown): void {
  for (const win of BrowserWindow.getAllWindows()) {
    if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, event, payload);
  }
}

/** Forwards every host event in EVENTS to all windows; returns one unsubscribe for all. */
export function forwardEvents(host: Pick<SyncHost, EventName>): () => void {
  const offs = EVENTS.map((name) => {
    const subscribe = host[name] as (listener: (payload: unknown) => void) => () => void;
    return subscribe.call(host, (payload) => broadcast(name, payload));
  });
  return () => offs.forEach((off) => off());
}
