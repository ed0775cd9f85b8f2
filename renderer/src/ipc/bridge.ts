/**
 * The shape of `window.ccsync`, exposed by electron/preload and implemented against these types
 * (the preload imports them, so there is one definition). Pure types: no DOM, no Node.
 * TODO(contract): InvokeResult is the wire envelope of every transport; it belongs in core/api.
 */
import type { ErrorDto, EventName, ServiceName } from '../../../core/api/contract';

/** What crosses the wire for one call: Electron's own rejections keep only `message`. */
export type InvokeResult = { ok: true; value: unknown } | { ok: false; error: ErrorDto };

export interface CcsyncBridge {
  invoke(service: ServiceName, method: string, args: readonly unknown[]): Promise<InvokeResult>;
  /** Returns the unsubscribe function. */
  subscribe(event: EventName, listener: (payload: unknown) => void): () => void;
}
