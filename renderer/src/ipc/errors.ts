import type { ErrorDto } from '../../../core/api/contract';

/** An error from the core, carrying its stable code (core/common/errors.ts). */
export class ServiceError extends Error implements ErrorDto {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ServiceError';
    this.code = code;
  }
}

/** `{ code, message }` from anything thrown; errors without a code become INTERNAL. */
export function toErrorDto(e: unknown): ErrorDto {
  if (typeof e === 'object' && e !== null) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && typeof message === 'string') return { code, message };
    if (typeof message === 'string') return { code: 'INTERNAL', message };
  }
  return { code: 'INTERNAL', message: String(e) };
}

export function toServiceError(e: unknown): ServiceError {
  if (e instanceof ServiceError) return e;
  const { code, message } = toErrorDto(e);
  return new ServiceError(code, message);
}
