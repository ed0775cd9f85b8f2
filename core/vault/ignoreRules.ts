import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';

/**
 * Never synced by default: machine-local, huge, or secret parts of ~/.claude (design brief §1),
 * plus this app's own files and editor/OS droppings that would only create noise.
 */
export const DEFAULT_IGNORES: readonly string[] = [
  '/projects/',
  '/todos/',
  '/shell-snapshots/',
  '/debug/',
  '/file-history/',
  '/paste-cache/',
  '/session-env/',
  '/ide/',
  '/statsig/',
  '/backup/',
  '/.credentials.json',
  '/.ccsync-root',
  '.ccsync-tmp-*',
  '.DS_Store',
  'Thumbs.db',
  '*.swp',
  '*~',
  '.#*',
];

export const IGNORE_FILE = '.ccsyncignore';

export interface IgnoreRules {
  /** True when a vault path (a file, or a directory given with a trailing '/') must not sync. */
  ignores(path: string): boolean;
}

export function buildIgnoreRules(userRules: string): IgnoreRules {
  const ig: Ignore = ignore().add([...DEFAULT_IGNORES]).add(userRules);
  return { ignores: (path) => ig.ignores(path) };
}

/** Loads the root's .ccsyncignore (which itself syncs, so every device converges on one rule set). */
export async function loadIgnoreRules(root: string): Promise<IgnoreRules> {
  let text = '';
  try {
    text = await readFile(join(root, IGNORE_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return buildIgnoreRules(text);
}
