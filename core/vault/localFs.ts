import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep, isAbsolute } from 'node:path';
import { CcsError, wrapFsError } from '../common/errors';

/** Temp files carry this prefix; the scanner ignores them and cleanup removes them. */
export const TEMP_PREFIX = '.ccsync-tmp-';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A temp path next to `target`, so the final rename stays on one file system and is atomic. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
}

/** Makes a staged temp file durable and moves it over `target` (temp, fsync, rename, fsync dir). */
export async function commitTemp(temp: string, target: string): Promise<void> {
  await rename(temp, target);
  await fsyncDir(dirname(target));
}

export async function writeFileAtomic(target: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const temp = tempPathFor(target);
  try {
    const fh = await open(temp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await commitTemp(temp, target);
  } catch (e) {
    await unlink(temp).catch(() => {});
    wrapFsError(e, `writing ${target}`);
  }
}

/**
 * Resolves a vault path to an absolute path inside root, refusing anything that would land
 * outside it: '..' segments and existing symlinked parents (a symlink inside the root could
 * point anywhere, and following it would let remote data write outside the root).
 */
export async function safeLocalPath(root: string, vaultPath: string): Promise<string> {
  const abs = join(root, ...vaultPath.split('/'));
  const rel = relative(root, abs);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new CcsError('PATH_REJECTED', `path ${JSON.stringify(vaultPath)} escapes the sync root`);
  }
  let cur = root;
  const parts = rel.split(sep);
  for (const part of parts.slice(0, -1)) {
    cur = join(cur, part);
    const st = await lstat(cur).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (!st) break;
    if (st.isSymbolicLink() || !st.isDirectory()) {
      throw new CcsError('PATH_REJECTED', `path ${JSON.stringify(vaultPath)} goes through ${cur}, which is not a plain directory`);
    }
  }
  return abs;
}

/** Creates the parent directories of a path that safeLocalPath already checked. */
export async function ensureParent(abs: string): Promise<void> {
  await mkdir(dirname(abs), { recursive: true });
}
