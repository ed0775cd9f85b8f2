/**
 * In-process Transport for tests (and UI work without a core): dispatches to plain service objects
 * with the same wire rules as the real transports — names checked against the contract, arguments
 * and results structured-cloned, errors reduced to `{ code, message }`.
 */
import { EVENTS, SERVICES, type EventName, type ServiceName } from '../../../core/api/contract';
import { toErrorDto } from './errors';
import type { Transport } from './transport';

export interface MemoryTransport extends Transport {
  /** Pushes an event to the subscribers, as the core would. */
  emit(event: EventName, payload: unknown): void;
  listenerCount(event: EventName): number;
  /** Every call that reached a service, in order. */
  readonly calls: ReadonlyArray<{ service: ServiceName; method: string; args: unknown[] }>;
}

export function createMemoryTransport(services: { [N in ServiceName]?: object }): MemoryTransport {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const calls: Array<{ service: ServiceName; method: string; args: unknown[] }> = [];

  return {
    calls,
    async invoke(service, method, args) {
      const target = services[service] as Record<string, unknown> | undefined;
      const fn = target?.[method];
      if (!Object.hasOwn(SERVICES, service) || !(SERVICES[service] as readonly string[]).includes(method) || typeof fn !== 'function') {
        throw { code: 'USAGE', message: `unknown method: ${service}.${method}` };
      }
      const copy = structuredClone([...args]);
      calls.push({ service, method, args: copy });
      try {
        return structuredClone(await fn.apply(target, copy));
      } catch (e) {
        throw toErrorDto(e);
      }
    },
    subscribe(event, listener) {
      if (!(EVENTS as readonly string[]).includes(event)) throw new Error(`unknown event: ${event}`);
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const own = (payload: unknown): void => listener(payload);
      set.add(own);
      return () => {
        set.delete(own);
      };
    },
    emit(event, payload) {
      for (const listener of [...(listeners.get(event) ?? [])]) listener(structuredClone(payload));
    },
    listenerCount: (event) => listeners.get(event)?.size ?? 0,
  };
}
