import { stat } from 'node:fs/promises';
import { CcsError } from '../common/errors';
import { readRootMarker } from '../vault/rootMarker';
import type { DeviceSession } from './session';

/** A sync may delete at most this share of tracked files (and more than MASS_DELETE_MIN) without --allow-mass-delete. */
export const MASS_DELETE_FRACTION = 0.5;
export const MASS_DELETE_MIN = 5;

export function guardMassDelete(paths: string[], tracked: number, by: string, allow: boolean): void {
  if (allow || paths.length <= MASS_DELETE_MIN || paths.length <= tracked * MASS_DELETE_FRACTION) return;
  const preview = paths.slice(0, 10).map((p) => `  ${p}`).join('\n');
  throw new CcsError(
    'MASS_DELETE',
    `this sync would delete ${paths.length} of ${tracked} files (deleted by ${by}); nothing was changed. First files:\n${preview}${paths.length > 10 ? `\n  … and ${paths.length - 10} more` : ''}\nIf this is intended, run \`ccsync sync --allow-mass-delete\`.`,
  );
}

/** The root must exist and carry this device's marker once anything was synced from it. */
export async function checkRoot(s: DeviceSession): Promise<void> {
  const root = s.config.root;
  const st = await stat(root).catch(() => null);
  if (!st || !st.isDirectory()) {
    throw new CcsError('ROOT_MISSING', `the sync root ${root} does not exist or is not a directory; nothing was changed (is the drive mounted?)`);
  }
  const marker = await readRootMarker(root);
  if (!marker) {
    if (s.db.allFiles().size > 0) {
      throw new CcsError('ROOT_MARKER_MISMATCH', `the sync root ${root} has lost its marker file (.ccsync-root) although files were synced from it: it may have been replaced or unmounted; nothing was changed`);
    }
    return;
  }
  if (marker.vaultId !== s.config.vaultId || marker.deviceId !== s.config.deviceId) {
    throw new CcsError('ROOT_MARKER_MISMATCH', `the sync root ${root} belongs to vault ${marker.vaultId} / device ${marker.deviceId}, not to this device; nothing was changed`);
  }
}
