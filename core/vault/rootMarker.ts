import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CcsError } from '../common/errors';
import { writeFileAtomic } from './localFs';

/**
 * A small file in the sync root that says which vault and device own it and how many files it
 * held at the last sync. Without it, an unmounted drive or a wiped folder looks exactly like
 * "the user deleted everything" — the classic mass-delete bug of sync tools.
 */
export const ROOT_MARKER = '.ccsync-root';

export interface RootMarker {
  vaultId: string;
  deviceId: string;
  /** Files tracked at the last sync. */
  files: number;
  updatedAt: string;
}

export async function readRootMarker(root: string): Promise<RootMarker | null> {
  try {
    const parsed = JSON.parse(await readFile(join(root, ROOT_MARKER), 'utf8')) as Partial<RootMarker>;
    if (typeof parsed.vaultId !== 'string' || typeof parsed.deviceId !== 'string' || typeof parsed.files !== 'number') {
      throw new CcsError('ROOT_MARKER_MISMATCH', `root marker ${join(root, ROOT_MARKER)} is malformed`);
    }
    return parsed as RootMarker;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (e instanceof SyntaxError) throw new CcsError('ROOT_MARKER_MISMATCH', `root marker ${join(root, ROOT_MARKER)} is not valid JSON`);
    throw e;
  }
}

export async function writeRootMarker(root: string, marker: RootMarker): Promise<void> {
  await writeFileAtomic(join(root, ROOT_MARKER), Buffer.from(JSON.stringify(marker, null, 2) + '\n'));
}
