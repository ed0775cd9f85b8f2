/** Transport over the preload's `window.ccsync` bridge (Electron IPC). */
import type { CcsyncBridge } from './bridge';
import { ServiceError } from './errors';
import type { Transport } from './transport';

declare global {
  interface Window {
    /** Present only inside the Electron app (electron/preload). */
    readonly ccsync?: CcsyncBridge;
  }
}

export function createElectronTransport(bridge: CcsyncBridge): Transport {
  return {
    async invoke(service, method, args) {
      const result = await bridge.invoke(service, method, [...args]);
      if (result.ok) return result.value;
      throw new ServiceError(result.error.code, result.error.message);
    },
    subscribe: (event, listener) => bridge.subscribe(event, listener),
  };
}
