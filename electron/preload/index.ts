/**
 * The only bridge between the sandboxed renderer and main: a generic invoke/subscribe that checks
 * every name against the contract before anything is sent. Nothing else is exposed.
 * Runs sandboxed, so it is bundled to one CommonJS file that requires only 'electron'.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { EVENTS, IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL, type EventName } from '../../core/api/contract';
import type { CcsyncBridge, InvokeResult } from '../../renderer/src/ipc/bridge';
import { isMethodOf, isServiceName } from '../main/dispatch';

function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && (EVENTS as readonly string[]).includes(name);
}

const bridge: CcsyncBridge = {
  invoke(service, method, args) {
    if (!isServiceName(service) || !isMethodOf(service, method)) {
      return Promise.reject(new Error(`ccsync: unknown call ${String(service)}.${String(method)}`));
    }
    if (!Array.isArray(args)) return Promise.reject(new Error('ccsync: arguments must be an array'));
    return ipcRenderer.invoke(IPC_INVOKE_CHANNEL, service, method, args) as Promise<InvokeResult>;
  },
  subscribe(event, listener) {
    if (!isEventName(event)) throw new Error(`ccsync: unknown event ${String(event)}`);
    if (typeof listener !== 'function') throw new TypeError('ccsync: listener must be a function');
    // The IpcRendererEvent never reaches the page (it would expose `sender`).
    const handler = (_event: IpcRendererEvent, name: unknown, payload: unknown): void => {
      if (name === event) listener(payload);
    };
    ipcRenderer.on(IPC_EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('ccsync', bridge);
