import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { collisionKey, vaultPathProblem } from '../common/vaultPath';
import type { IgnoreRules } from './ignoreRules';
import { TEMP_PREFIX } from './localFs';

/** One regular file found in the sync root. */
export interface ScannedFile {
  /** Vault path: NFC, '/'-separated. */
  path: string;
  /** Relative path exactly as it is on disk (may differ from `path` in Unicode form). */
  localPath: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  /** Only the executable bit is synced; other permission bits are a per-machine choice. */
  mode: number;
}

export interface ScanProblem {
  path: string;
  message: string;
}

export interface ScanResult {
  files: Map<string, ScannedFile>;
  problems: ScanProblem[];
  ignored: string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function statKey(f: Pick<ScannedFile, 'size' | 'mtimeNs' | 'ctimeNs' | 'ino'>): string {
  return `${f.size}:${f.mtimeNs}:${f.ctimeNs}:${f.ino}`;
}

/**
 * Walks the root without following symlinks. Names that are not valid UTF-8, that collide by
 * case or Unicode normalization, or that are not regular files become problems: they are left
 * alone (never synced, never deleted) and shown to the user with the reason.
 */
export async function scanRoot(root: string, rules: IgnoreRules): Promise<ScanResult> {
  const found: ScannedFile[] = [];
  const problems: ScanProblem[] = [];
  const ignored: string[] = [];

  async function walk(relDir: string): Promise<void> {
    const abs = relDir ? join(root, relDir) : root;
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true, encoding: 'buffer' });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A directory removed while we walk is simply gone; the next scan sees the deletion.
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw e;
    }
    const subdirs: string[] = [];
    const stats: Promise<void>[] = [];
    for (const ent of entries) {
      let name: string;
      try {
        name = utf8.decode(ent.name);
      } catch {
        const shown = (relDir ? relDir + '/' : '') + ent.name.toString('utf8');
        problems.push({ path: shown, message: 'name is not valid UTF-8; rename it to sync it' });
        continue;
      }
      if (name.startsWith(TEMP_PREFIX)) continue;
      const localPath = relDir ? `${relDir}/${name}` : name;
      const path = localPath.normalize('NFC');
      if (ent.isDirectory()) {
        if (rules.ignores(path + '/')) ignored.push(path + '/');
        else subdirs.push(localPath);
        continue;
      }
      if (rules.ignores(path)) {
        ignored.push(path);
        continue;
      }
      if (ent.isSymbolicLink()) {
        problems.push({ path, message: 'symbolic links are not synced' });
        continue;
      }
      if (!ent.isFile()) {
        problems.push({ path, message: 'not a regular file' });
        continue;
      }
      const problem = vaultPathProblem(path);
      if (problem && problem !== 'is not in Unicode NFC form') {
        problems.push({ path, message: `name ${problem}` });
        continue;
      }
      stats.push(
        lstat(join(root, localPath), { bigint: true }).then(
          (st) => {
            if (!st.isFile()) return;
            found.push({
              path,
              localPath,
              size: Number(st.size),
              mtimeNs: st.mtimeNs.toString(),
              ctimeNs: st.ctimeNs.toString(),
              ino: st.ino.toString(),
              mode: Number(st.mode) & 0o111 ? 0o755 : 0o644,
            });
          },
          (e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e; // vanished between readdir and lstat: treated as deleted
          },
        ),
      );
    }
    await Promise.all(stats);
    for (const d of subdirs) await walk(d);
  }

  await walk('');
  const byKey = new Map<string, ScannedFile[]>();
  for (const f of found) {
    const k = collisionKey(f.path);
    const list = byKey.get(k);
    if (list) list.push(f);
    else byKey.set(k, [f]);
  }
  const files = new Map<string, ScannedFile>();
  for (const list of byKey.values()) {
    if (list.length === 1) {
      const f = list[0]!;
      files.set(f.path, f);
      continue;
    }
    const names = list.map((f) => f.localPath);
    for (const f of list) {
      const others = names.filter((n) => n !== f.localPath).map((n) => JSON.stringify(n)).join(', ');
      problems.push({
        path: f.localPath,
        message: `name collides with ${others} by letter case or Unicode normalization; such names cannot coexist on macOS/Windows, rename one`,
      });
    }
  }
  return { files, problems, ignored };
}
