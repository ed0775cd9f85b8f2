/**
 * How the renderer reaches the core. Two implementations carry the same contract: Electron IPC
 * (electronTransport) and, later, the daemon's WebSocket. Tests use memoryTransport.
 */
import type { EventName, ServiceName } from '../../../core/api/contract';

export interface Transport {
  /**
   * Calls `service.method(...args)` in the core. Resolves with the method's value; rejects with an
   * `{ code, message }` (ErrorDto-like) value, or any error when the transport itself fails.
   */
  invoke(service: ServiceName, method: string, args: readonly unknown[]): Promise<unknown>;
  /** Listens to one of EVENTS; returns the unsubscribe function. */
  subscribe(event: EventName, listener: (payload: unknown) => void): () => void;
}
