import { CcsError } from './errors';

/**
 * A vault path is the name of an item inside the sync root as every device stores it: relative,
 * '/'-separated, Unicode NFC. Paths arriving from the remote are untrusted (a buggy or hostile
 * device may write anything it can encrypt), so they are validated before they touch the disk.
 */
export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

/** Returns null when the path is acceptable, else a specific reason. */
export function vaultPathProblem(path: string): string | null {
  if (path.length === 0) return 'empty path';
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.startsWith('/')) return 'is absolute';
  if (path.includes('\\')) return 'contains a backslash';
  if (path.normalize('NFC') !== path) return 'is not in Unicode NFC form';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  for (const part of path.split('/')) {
    if (part === '' || part === '.' || part === '..') return `has an invalid segment ${JSON.stringify(part)}`;
    if (Buffer.byteLength(part) > MAX_NAME_BYTES) return `has a name longer than ${MAX_NAME_BYTES} bytes`;
  }
  return null;
}

export function assertVaultPath(path: string): string {
  const problem = vaultPathProblem(path);
  if (problem) throw new CcsError('PATH_REJECTED', `path ${JSON.stringify(path)} ${problem}`);
  return path;
}

/** Key used to find names that cannot coexist on case-insensitive file systems (macOS, Windows). */
export function collisionKey(path: string): string {
  return path.normalize('NFC').toLowerCase();
}
