/**
 * Every failure that crosses a module boundary is a CcsError with a stable string code, so the CLI
 * can map it to an exit code and the UI can show a specific message (Joplin's `masterKeyNotLoaded`
 * idea). Codes are part of the public contract: add, never rename.
 */
export type ErrorCode =
  | 'USAGE'
  | 'WRONG_PASSWORD'
  | 'LOCKED'
  | 'KDF_PARAMS_REJECTED'
  | 'OBJECT_CORRUPT'
  | 'OBJECT_MISSING'
  | 'FORMAT_UNSUPPORTED'
  | 'REMOTE_NOT_FOUND'
  | 'REMOTE_UNREACHABLE'
  | 'REMOTE_EXISTS'
  | 'ALREADY_EXISTS'
  | 'NOT_INITIALIZED'
  | 'ROOT_MISSING'
  | 'ROOT_MARKER_MISMATCH'
  | 'ROOT_EMPTIED'
  | 'MASS_DELETE'
  | 'PATH_REJECTED'
  | 'CONFIG_INVALID'
  | 'DISK_FULL'
  | 'CODEC_UNAVAILABLE'
  | 'BUSY'
  | 'REVOKED'
  | 'UNTRUSTED'
  | 'INTERNAL'
  /** The user (or the app) stopped the operation: nothing half-done was recorded. */
  | 'CANCELLED'
  /** Device pairing (core/engine/pairing.ts): a pairing message failed authentication. */
  | 'PAIRING_TAMPERED'
  | 'PAIRING_EXPIRED'
  | 'PAIRING_CANCELLED';

export class CcsError extends Error {
  readonly code: ErrorCode;
  override readonly cause?: unknown;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'CcsError';
    this.code = code;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export function isCcsError(e: unknown, code?: ErrorCode): e is CcsError {
  return e instanceof CcsError && (code === undefined || e.code === code);
}

/** Maps Node's errno codes that mean "storage is full" to one error the user understands. */
export function wrapFsError(e: unknown, what: string): never {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    throw new CcsError('DISK_FULL', `${what}: no space left on device`, { cause: e });
  }
  throw e;
}
