/**
 * Turns a Transport into a typed service (VS Code's ProxyChannel idea). The methods come from
 * SERVICES in the contract, so adding a method to the contract needs no edit here.
 */
import { SERVICES, type ServiceName } from '../../../core/api/contract';
import { toServiceError } from './errors';
import type { Transport } from './transport';

/** A service as the contract defines it: every member is a method returning a promise. */
export type AsyncService<S> = { [K in keyof S]: (...args: never[]) => Promise<unknown> };

export function createServiceProxy<S extends AsyncService<S>>(transport: Transport, name: ServiceName): S {
  const service: Record<string, (...args: unknown[]) => Promise<unknown>> = Object.create(null);
  for (const method of SERVICES[name] as readonly string[]) {
    service[method] = async (...args: unknown[]) => {
      try {
        return await transport.invoke(name, method, args);
      } catch (e) {
        // Errors cross as { code, message }: rethrow them as a real Error that keeps the code.
        throw toServiceError(e);
      }
    };
  }
  return Object.freeze(service) as unknown as S;
}
