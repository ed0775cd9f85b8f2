import { lstat, open, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CcsError, isCcsError } from '../common/errors';
import { BoundedPool } from '../common/boundedPool';
import { ensureParent, fsyncDir, safeLocalPath, tempPathFor } from '../vault/localFs';
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
  /** Items refused because their place in the root is unsafe (a symlinked parent): left alone, reported. */
  refused: { path: string; message: string }[];
  bytesWritten: number;
}

interface Staged {
  plan: Planned;
  target: string;
  temp: string | null;
  /** A rename seen on another device: move this local file instead of downloading the content. */
  moveFrom?: { abs: string; plan: Planned };
}

/**
 * Brings remote versions into the working copy in two phases. Stage: every file is downloaded to
 * a temp file next to its target and verified chunk by chunk; if anything fails, all temp files
 * are removed and no user file has changed. Commit: each temp file replaces its target by an
 * atomic rename, but only if the target still is what the plan saw (an edit made meanwhile wins).
 */
export async function materialize(root: string, db: StateDb, reader: ChunkReader, plans: Planned[]): Promise<MaterializeResult> {
  const staged: Staged[] = [];
  const refused: { path: string; message: string }[] = [];
  let bytesWritten = 0;
  // Many small files are dominated by file-system round trips and fsync: overlap a few.
  const staging = new BoundedPool(8);
  const moves = pairRenames(plans);
  try {
    for (const plan of plans) {
      if (moves.sources.has(plan)) continue; // handled by its move
      const move = moves.byTarget.get(plan);
      if (move) {
        try {
          staged.push({ plan, target: await safeLocalPath(root, plan.version.path), temp: null, moveFrom: { abs: await safeLocalPath(root, move.row!.localPath), plan: move } });
          continue;
        } catch (e) {
          if (!isCcsError(e, 'PATH_REJECTED')) throw e;
          refused.push({ path: plan.version.path, message: e.message });
          continue;
        }
      }
      await staging.run(async () => {
        let target: string;
        try {
          target = await safeLocalPath(root, plan.row?.localPath ?? plan.version.path);
        } catch (e) {
          // One item this device cannot hold safely (e.g. under a symlinked folder) must not block the rest.
          if (!isCcsError(e, 'PATH_REJECTED')) throw e;
          refused.push({ path: plan.version.path, message: e.message });
          return;
        }
        if (plan.version.deleted) {
          staged.push({ plan, target, temp: null });
          return;
        }
        await ensureParent(target);
        await safeLocalPath(root, plan.version.path); // re-check: a parent created meanwhile could be a symlink
        const temp = tempPathFor(target);
        staged.push({ plan, target, temp });
        bytesWritten += await stageFile(db, reader, plan.version, temp);
      });
    }
    await staging.drain();
  } catch (e) {
    await staging.drain().catch(() => {});
    await Promise.all(staged.map((s) => (s.temp ? unlink(s.temp).catch(() => {}) : undefined)));
    throw e;
  }

  const result: MaterializeResult = { rows: [], removed: [], skipped: [], refused, bytesWritten };
  const touchedDirs = new Set<string>();
  const committing = new BoundedPool(8);
  for (const s of staged) await committing.run(() => commit(root, s, result, touchedDirs));
  await committing.drain();
  // Renames are durable once their directories are synced: one fsync per directory, before the
  // caller records the new state.
  await Promise.all(
    [...touchedDirs].map((d) =>
      fsyncDir(d).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e; // removed as empty
      }),
    ),
  );
  return result;
}

async function commitMove(root: string, s: Staged & { moveFrom: NonNullable<Staged['moveFrom']> }, result: MaterializeResult, touchedDirs: Set<string>): Promise<void> {
  const source = s.moveFrom;
  if (!(await stillAsPlanned(source.abs, source.plan.row)) || !(await stillAsPlanned(s.target, null))) {
    result.skipped.push(s.plan.version.path, source.plan.version.path);
    return;
  }
  await ensureParent(s.target);
  await rename(source.abs, s.target);
  touchedDirs.add(dirname(s.target));
  touchedDirs.add(dirname(source.abs));
  await removeEmptyParents(root, dirname(source.abs));
  result.removed.push(source.plan.version.path);
  result.rows.push(await rowFor(s));
}

async function rowFor(s: Staged): Promise<FileRow> {
  const st = await lstat(s.target, { bigint: true });
  return {
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
  };
}

/** Pairs a create that names its origin with the deletion of that origin holding the same content. */
function pairRenames(plans: Planned[]): { byTarget: Map<Planned, Planned>; sources: Set<Planned> } {
  const deletions = new Map(plans.filter((p) => p.version.deleted && p.row).map((p) => [p.version.path, p]));
  const byTarget = new Map<Planned, Planned>();
  const sources = new Set<Planned>();
  for (const p of plans) {
    const from = p.version.renamedFrom;
    const del = from ? deletions.get(from) : undefined;
    if (!del || p.version.deleted || p.row || del.row!.contentId !== p.version.contentId || sources.has(del)) continue;
    byTarget.set(p, del);
    sources.add(del);
  }
  return { byTarget, sources };
}

async function commit(root: string, s: Staged, result: MaterializeResult, touchedDirs: Set<string>): Promise<void> {
  if (s.moveFrom) return commitMove(root, s as Staged & { moveFrom: NonNullable<Staged['moveFrom']> }, result, touchedDirs);
  const asPlanned = await stillAsPlanned(s.target, s.plan.row);
  // A file the user already deleted needs no deletion from us.
  const alreadyGone = !s.temp && !asPlanned && !(await lstat(s.target).then(() => true, () => false));
  if (!asPlanned && !alreadyGone) {
    if (s.temp) await unlink(s.temp).catch(() => {});
    result.skipped.push(s.plan.version.path);
    return;
  }
  if (!s.temp) {
    await unlink(s.target).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    touchedDirs.add(dirname(s.target));
    await removeEmptyParents(root, dirname(s.target));
    result.removed.push(s.plan.version.path);
    return;
  }
  await rename(s.temp, s.target);
  touchedDirs.add(dirname(s.target));
  result.rows.push(await rowFor(s));
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
    await fh.chmod(v.mode & 0o111 ? 0o755 : 0o644);
    const mtime = new Date(v.mtimeMs);
    await fh.utimes(mtime, mtime);
    await fh.sync();
  } finally {
    await fh.close();
  }
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

