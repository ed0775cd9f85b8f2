import { CcsError } from '../common/errors';

const MAX_ERROR_LENGTH = 2000;

/** The text kept in last_error: the code of a CcsError tells the UI what kind of failure it was. */
export function describeError(e: unknown): string {
  if (e instanceof CcsError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

export function truncate(s: string): string {
  return s.length > MAX_ERROR_LENGTH ? `${s.slice(0, MAX_ERROR_LENGTH)}…` : s;
}
