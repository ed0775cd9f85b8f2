/** Chooses how this renderer reaches the core: Electron IPC now, the daemon's WebSocket later. */
import { createElectronTransport } from './electronTransport';
import type { Transport } from './transport';

export function pickTransport(): Transport | null {
  if (window.ccsync) return createElectronTransport(window.ccsync);
  // TODO(daemon): WebSocket transport when served by `ccsync daemon` in a browser.
  return null;
}
