import { lstat, open, rmdir, unlink, utimes, chmod } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CcsError } from '../common/errors';
import { commitTemp, ensureParent, fsyncDir, safeLocalPath, tempPathFor } from '../vault/localFs';
import { statKey } from '../vault/scanner';
import type { FileRow, StateDb } from '../vault/stateDb';
import type { ChunkReader } from './chunkReader';
import type { VersionRecord } from './format';

export interface Planned {
  version: VersionRecord;
  /** What the working copy held when the plan was made (null: nothing tracked there). */
  row: FileRow | null;
}

export interface MaterializeResult {
  rows: FileRow[];
  removed: string[];
  /** Items the user touched while we worked: left alone, picked up by the next sync. */
  skipped: string[];
  bytesWritten: number;
}

interface Staged {
  plan: Planned;
  target: string;
  temp: string | null;
}

/**
 * Brings remote versions into the working copy in two phases. Stage: every file is downloaded to
 * a temp file next to its target and verified chunk by chunk; if anything fails, all temp files
 * are removed and no user file has changed. Commit: each temp file replaces its target by an
 * atomic rename, but only if the target still is what the plan saw (an edit made meanwhile wins).
 */
export async function materialize(root: string, db: StateDb, reader: ChunkReader, plans: Planned[]): Promise<MaterializeResult> {
  const staged: Staged[] = [];
  let bytesWritten = 0;
  try {
    for (const plan of plans) {
      const target = await safeLocalPath(root, plan.row?.localPath ?? plan.version.path);
      if (plan.version.deleted) {
        staged.push({ plan, target, temp: null });
        continue;
      }
      await ensureParent(target);
      await safeLocalPath(root, plan.version.path); // re-check: a parent created concurrently could be a symlink
      const temp = tempPathFor(target);
      staged.push({ plan, target, temp });
      bytesWritten += await stageFile(db, reader, plan.version, temp);
    }
  } catch (e) {
    await Promise.all(staged.map((s) => (s.temp ? unlink(s.temp).catch(() => {}) : undefined)));
    throw e;
  }

  const result: MaterializeResult = { rows: [], removed: [], skipped: [], bytesWritten };
  for (const s of staged) {
    const asPlanned = await stillAsPlanned(s.target, s.plan.row);
    // A file the user already deleted needs no deletion from us.
    const alreadyGone = !s.temp && !asPlanned && !(await lstat(s.target).then(() => true, () => false));
    if (!asPlanned && !alreadyGone) {
      if (s.temp) await unlink(s.temp).catch(() => {});
      result.skipped.push(s.plan.version.path);
      continue;
    }
    if (!s.temp) {
      await unlink(s.target).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      await fsyncDir(dirname(s.target));
      await removeEmptyParents(root, dirname(s.target));
      result.removed.push(s.plan.version.path);
      continue;
    }
    await commitTemp(s.temp, s.target);
    const st = await lstat(s.target, { bigint: true });
    result.rows.push({
      path: s.plan.version.path,
      localPath: s.plan.row?.localPath ?? s.plan.version.path,
      size: Number(st.size),
      mtimeNs: st.mtimeNs.toString(),
      ctimeNs: st.ctimeNs.toString(),
      ino: st.ino.toString(),
      mode: s.plan.version.mode,
      contentId: s.plan.version.contentId,
      versionId: s.plan.version.id,
      hashedAt: Date.now(),
    });
  }
  return result;
}

async function stageFile(db: StateDb, reader: ChunkReader, v: VersionRecord, temp: string): Promise<number> {
  const fh = await open(temp, 'wx', v.mode & 0o111 ? 0o755 : 0o644);
  let written = 0;
  try {
    for (const id of v.chunks) {
      const chunk = db.getChunk(id);
      if (!chunk) throw new CcsError('OBJECT_MISSING', `chunk ${id.slice(0, 16)}… of ${v.path} is not in any known pack`);
      const data = await reader.read(chunk);
      await fh.write(data, 0, data.length, written);
      written += data.length;
    }
    if (written !== v.size) throw new CcsError('OBJECT_CORRUPT', `${v.path}: assembled ${written} bytes, the version says ${v.size}`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(temp, v.mode & 0o111 ? 0o755 : 0o644);
  const mtime = new Date(v.mtimeMs);
  await utimes(temp, mtime, mtime);
  return written;
}

async function stillAsPlanned(target: string, row: FileRow | null): Promise<boolean> {
  try {
    const st = await lstat(target, { bigint: true });
    if (!row) return false; // something appeared where we expected nothing
    return statKey({ size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), ino: st.ino.toString() }) === statKey(row);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return row === null;
  }
}

async function removeEmptyParents(root: string, dir: string): Promise<void> {
  while (dir !== root && dir.startsWith(root)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}

