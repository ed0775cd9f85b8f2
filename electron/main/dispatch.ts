/**
 * Generic dispatch of one contract call: validates the service and method names against SERVICES,
 * calls `services[service][method](...args)` and wraps the outcome in an envelope that survives
 * structured cloning (Electron's own rejection loses every field but the message).
 *
 * No Electron import here on purpose: the daemon's WebSocket transport needs exactly the same
 * checks and envelope, so this module can move to core/host unchanged.
 */
import { SERVICES, type ErrorDto, type ServiceName } from '../../core/api/contract';
import { CcsError } from '../../core/common/errors';

export type InvokeResult = { ok: true; value: unknown } | { ok: false; error: ErrorDto };

/** The services a dispatcher can reach: one object per name in SERVICES. */
export type ServiceTable = { readonly [N in ServiceName]: object };

export function isServiceName(name: unknown): name is ServiceName {
  return typeof name === 'string' && Object.hasOwn(SERVICES, name);
}

export function isMethodOf(service: ServiceName, method: unknown): method is string {
  return typeof method === 'string' && (SERVICES[service] as readonly string[]).includes(method);
}

/**
 * `{ code, message }` from a CcsError (or one from another copy of core, matched by name); anything
 * else becomes INTERNAL. Node's own errors also carry a string `code` (ENOENT, EACCES…), which
 * is not a contract code, so duck typing on `code` alone is not enough.
 */
export function toErrorDto(e: unknown): ErrorDto {
  if (typeof e === 'object' && e !== null) {
    const { name, code, message } = e as { name?: unknown; code?: unknown; message?: unknown };
    const ccs = e instanceof CcsError || name === 'CcsError';
    if (ccs && typeof code === 'string' && typeof message === 'string') return { code, message };
    if (typeof message === 'string') return { code: 'INTERNAL', message };
  }
  return { code: 'INTERNAL', message: String(e) };
}

function usage(message: string): InvokeResult {
  return { ok: false, error: { code: 'USAGE', message } };
}

/** Never throws: every failure, including a bad request, comes back as `{ ok: false }`. */
export async function dispatch(
  services: ServiceTable,
  service: unknown,
  method: unknown,
  args: unknown,
): Promise<InvokeResult> {
  if (!isServiceName(service)) return usage(`unknown service: ${String(service)}`);
  if (!isMethodOf(service, method)) return usage(`unknown method: ${service}.${String(method)}`);
  if (!Array.isArray(args)) return usage(`arguments of ${service}.${method} must be an array`);
  const target = services[service] as Record<string, unknown>;
  const fn = target[method];
  if (typeof fn !== 'function') return usage(`the core has no method ${service}.${method}`);
  try {
    const value: unknown = await fn.apply(target, args);
    return { ok: true, value };
  } catch (e) {
    return { ok: false, error: toErrorDto(e) };
  }
}
