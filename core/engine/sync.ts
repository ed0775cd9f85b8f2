import { BoundedPool } from '../common/boundedPool';
import { CcsError } from '../common/errors';
import { loadIgnoreRules } from '../vault/ignoreRules';
import { readRootMarker, writeRootMarker } from '../vault/rootMarker';
import { scanRoot, type ScanProblem } from '../vault/scanner';
import type { FileRow } from '../vault/stateDb';
import { join } from 'node:path';
import { ChunkReader } from './chunkReader';
import { ContentLoader } from './contentLoader';
import { fetchNewEntries, ingestEntries } from './fetchEntries';
import type { VersionRecord } from './format';
import { checkRoot, guardMassDelete } from './guards';
import { conflictingHeads, ingestVersion, pickWinner } from './heads';
import { diffLocal, hashFile, type HashedFile } from './localChanges';
import { materialize, type Planned } from './materialize';
import { mergeConflicts, type MergeOutcome } from './mergePass';
import { packWriterFor } from './packWriter';
import { publish } from './publish';
import type { DeviceSession } from './session';
import { transfersFor, type SyncProgress, type SyncProgressReporter } from './syncProgress';
import { newStats } from './transferStats';
import { VersionFactory } from './versionFactory';
import type { TokenBucket } from '../transfer/tokenBucket';
import type { TransferControl } from '../transfer/transferControl';

export { MASS_DELETE_FRACTION, MASS_DELETE_MIN } from './guards';
export type { SyncPhase, SyncProgress } from './syncProgress';

/**
 * One sync of one device, in numbered steps (docs/DESIGN.md "Sync steps"):
 *  1. check the root (exists, marker matches) and the remote;
 *  2. fetch every device's new log entries, validate them all, then ingest them in one transaction;
 *  3. scan the root; hash only files whose stat changed;
 *  4. guard against mass deletion;
 *  5. upload new chunks in packs, then the log entry, then the head (write ordering);
 *  6. merge concurrent heads that can be merged (text, JSON) and publish the merges;
 *  7. bring winning versions into the working copy (stage, verify, then rename);
 *  8. record the result.
 * A dry run does steps 1–7 against the real remote and root without writing anything anywhere:
 * local state changes happen inside a transaction that is rolled back.
 */
export interface SyncOptions {
  /** Allow a sync that deletes more than the mass-delete threshold. */
  allowMassDelete?: boolean;
  /** Report what would happen; change nothing locally or on the remote. */
  dryRun?: boolean;
  /** Clock source, replaceable in tests to simulate skewed devices. */
  now?: () => number;
  /** Hears where the sync is (phase, bytes, files, speed, ETA), at most 10 times a second. */
  onProgress?: (p: SyncProgress) => void;
  /** Pause, resume or cancel (CcsError 'CANCELLED') every transfer of this sync. */
  control?: TransferControl;
  /** Bytes per second over all transfers of this sync; null or absent = no limit. */
  bwlimit?: number | null;
  /** A limit shared with the caller, who may change it while the sync runs (replaces bwlimit). */
  bandwidth?: TokenBucket;
}

export interface PlannedChange {
  path: string;
  action: 'create' | 'modify' | 'delete';
  /** For a create that is the other half of a rename: where the content came from. */
  from?: string;
}

export interface SyncPlan {
  push: PlannedChange[];
  pull: PlannedChange[];
  merge: MergeOutcome[];
  conflicts: string[];
}

export interface SyncReport {
  pushed: number;
  pulled: number;
  conflicts: number;
  bytesUploaded: number;
  bytesDownloaded: number;
  durationMs: number;
  conflictPaths: string[];
  problems: ScanProblem[];
  /** Items left for the next sync because they changed while this one ran. */
  deferred: string[];
  dryRun: boolean;
  plan: SyncPlan;
}

export async function runSync(s: DeviceSession, opts: SyncOptions = {}): Promise<SyncReport> {
  const dry = !!opts.dryRun;
  if (!dry) return syncSteps(s, opts);
  s.db.db.exec('BEGIN');
  try {
    return await syncSteps(s, opts);
  } finally {
    s.db.db.exec('ROLLBACK');
  }
}

/** Runs the steps with the session's remote metered (limit, pause/cancel, progress) when asked. */
async function syncSteps(session: DeviceSession, opts: SyncOptions): Promise<SyncReport> {
  const t = transfersFor(session, opts);
  try {
    return await meteredSteps(t.session, opts, t.progress);
  } finally {
    t.close();
  }
}

async function meteredSteps(s: DeviceSession, opts: SyncOptions, progress: SyncProgressReporter | null): Promise<SyncReport> {
  const started = performance.now();
  const dry = !!opts.dryRun;
  const now = opts.now ?? Date.now;
  const stats = newStats();
  const root = s.config.root;
  const factory = new VersionFactory(s, now);
  const plan: SyncPlan = { push: [], pull: [], merge: [], conflicts: [] };

  // 1. root and remote
  await checkRoot(s);
  await s.remote.check();

  // 2. fetch, validate, ingest
  const untrusted: ScanProblem[] = [];
  const entries = await fetchNewEntries(s, stats, untrusted);
  const rejected = [...untrusted, ...ingestEntries(s, entries, factory)];

  // 3. scan and hash
  const rules = await loadIgnoreRules(root);
  const scan = await scanRoot(root, rules);
  const rows = s.db.allFiles();
  const marker = await readRootMarker(root);
  if (scan.files.size === 0 && marker && marker.files > 0) {
    throw new CcsError('ROOT_EMPTIED', `the sync root ${root} is empty, but it held ${marker.files} files at the last sync; if the drive is not mounted, mount it; if you really deleted everything, delete ${root}/.ccsync-root and sync with --allow-mass-delete`);
  }
  const diff = diffLocal(scan, rows);

  // 4. mass-delete guard, before anything is written anywhere
  guardMassDelete(diff.deleted.map((r) => r.path), rows.size, 'this device', !!opts.allowMassDelete);

  const writer = dry ? null : packWriterFor(s, stats);
  progress?.startUpload(diff.candidates);
  progress?.watchWriter(writer);
  const deferred: string[] = [];
  const hashed = new Map<string, HashedFile>();
  // Small files are dominated by open/read/close round trips: overlap a few of them.
  const hashing = new BoundedPool(8);
  for (const f of diff.candidates) {
    opts.control?.throwIfCancelled();
    await hashing.run(async () => {
      const h = await hashFile(root, f, s.keys, s.manifest, writer);
      if (h) hashed.set(f.path, h);
      else deferred.push(f.path);
      progress?.fileHashed(f.size);
    });
  }
  await hashing.drain();

  // 5. new local versions → packs → log entry → head
  const local = localVersions(s, factory, diff, hashed, rows, now());
  for (const v of local.versions) plan.push.push({ path: v.path, action: v.deleted ? 'delete' : rows.get(v.path) ? 'modify' : 'create', ...(v.renamedFrom ? { from: v.renamedFrom } : {}) });
  const recordRows = () => {
    for (const r of local.rowUpdates) s.db.putFile(r);
    for (const r of diff.deleted) s.db.deleteFile(r.path);
  };
  if (writer && (local.versions.length > 0 || writer.hasWork())) {
    await publish(s, factory, await writer.flush(), local.versions, stats, now(), recordRows);
  } else {
    s.db.tx(() => {
      for (const v of local.versions) ingestVersion(s.db, v);
      factory.persist();
      recordRows();
    });
  }

  // 6. merges
  const reader = new ChunkReader(s.remote, s.keys, stats);
  progress?.watchReader(reader);
  const localContent = new Map([...scan.files.values()].filter((f) => hashed.has(f.path)).map((f) => [hashed.get(f.path)!.contentId, join(root, f.localPath)]));
  const mergeWriter = dry ? null : packWriterFor(s, stats);
  const merges = await mergeConflicts(s, new ContentLoader(s, reader, localContent), factory, mergeWriter, now());
  plan.merge = merges.outcomes;
  if (merges.versions.length > 0) {
    if (mergeWriter) await publish(s, factory, await mergeWriter.flush(), merges.versions, stats, now());
    else s.db.tx(() => merges.versions.forEach((v) => ingestVersion(s.db, v)));
  }

  // 7. materialize winners
  const deferredSet = new Set(deferred);
  const problemPaths = new Set(scan.problems.map((p) => p.path.normalize('NFC')));
  const currentRows = s.db.allFiles();
  const plans: Planned[] = [];
  const adopt: FileRow[] = [];
  for (const [path, heads] of s.db.allHeads()) {
    if (deferredSet.has(path) || problemPaths.has(path) || rules.ignores(path)) continue;
    const winner = pickWinner(heads);
    const row = currentRows.get(path) ?? null;
    if (winner.deleted) {
      if (row) plans.push({ version: winner, row });
      continue;
    }
    if (row?.versionId === winner.id) continue;
    if (row && row.contentId === winner.contentId && row.mode === winner.mode) {
      adopt.push({ ...row, versionId: winner.id });
      continue;
    }
    if (!row && scan.files.has(path)) continue; // an untracked local file here was deferred above
    plans.push({ version: winner, row });
  }
  for (const p of plans) plan.pull.push({ path: p.version.path, action: p.version.deleted ? 'delete' : p.row ? 'modify' : 'create', ...(p.version.renamedFrom ? { from: p.version.renamedFrom } : {}) });
  guardMassDelete(plans.filter((p) => p.version.deleted).map((p) => p.version.path), currentRows.size, 'other devices', !!opts.allowMassDelete);
  const conflictPaths = [...s.db.allHeads()].filter(([, h]) => isConflicted(h)).map(([p]) => p).sort();
  plan.conflicts = conflictPaths;

  let applied = { rows: [] as FileRow[], removed: [] as string[], skipped: [] as string[], refused: [] as ScanProblem[] };
  if (!dry) {
    progress?.startDownload(plans);
    applied = await materialize(root, s.db, reader, plans);
    s.db.tx(() => {
      for (const r of [...adopt, ...applied.rows]) s.db.putFile(r);
      for (const p of applied.removed) s.db.deleteFile(p);
      s.db.setMeta('lastSync', new Date(now()).toISOString());
    });
    // 8. record
    await writeRootMarker(root, { vaultId: s.config.vaultId, deviceId: s.config.deviceId, files: s.db.allFiles().size, updatedAt: new Date(now()).toISOString() });
  }
  progress?.finish();
  return {
    pushed: local.versions.length,
    pulled: dry ? plans.length : applied.rows.length + applied.removed.length,
    conflicts: conflictPaths.length,
    bytesUploaded: stats.bytesUploaded,
    bytesDownloaded: stats.bytesDownloaded,
    durationMs: Math.round(performance.now() - started),
    conflictPaths,
    problems: [...rejected, ...scan.problems, ...applied.refused],
    deferred: [...deferred, ...applied.skipped],
    dryRun: dry,
    plan,
  };
}

/** An item needs the user when live heads differ, or when a JSON merge settled same-key edits by rule. */
export function isConflicted(heads: readonly VersionRecord[]): boolean {
  return conflictingHeads(heads).length > 0 || (pickWinner(heads).review?.length ?? 0) > 0;
}

function localVersions(
  s: DeviceSession,
  factory: VersionFactory,
  diff: ReturnType<typeof diffLocal>,
  hashed: Map<string, HashedFile>,
  rows: Map<string, FileRow>,
  hashedAt: number,
): { versions: VersionRecord[]; rowUpdates: FileRow[] } {
  const versions: VersionRecord[] = [];
  const rowUpdates: FileRow[] = [];
  // A tracked file that disappeared and an untracked one that appeared with the same content is
  // a rename: published as delete + create, with the create naming its origin so other devices
  // move their file instead of downloading it again.
  const goneByContent = new Map<string, string>();
  for (const r of diff.deleted) if (!goneByContent.has(r.contentId)) goneByContent.set(r.contentId, r.path);
  for (const f of diff.candidates) {
    const h = hashed.get(f.path);
    if (!h) continue;
    const row = rows.get(f.path) ?? null;
    const fileRow: FileRow = { path: f.path, localPath: f.localPath, size: f.size, mtimeNs: f.mtimeNs, ctimeNs: f.ctimeNs, ino: f.ino, mode: f.mode, contentId: h.contentId, versionId: row?.versionId ?? null, hashedAt };
    const heads = s.db.headsOf(f.path);
    const base = row?.versionId ? s.db.getVersion(row.versionId) : null;
    if (base && base.contentId === h.contentId && base.mode === f.mode) {
      rowUpdates.push(fileRow); // touched, not changed
      continue;
    }
    if (!row) {
      // Same bytes already in the vault under this path (e.g. both devices started with the same file): adopt, do not fork.
      const same = heads.find((v) => !v.deleted && v.contentId === h.contentId && v.mode === f.mode);
      if (same) {
        rowUpdates.push({ ...fileRow, versionId: same.id });
        continue;
      }
    }
    // A new version descends from what the working copy held and from concurrent deletions (an
    // edit wins over a delete); it stays concurrent with other live heads, so a conflict the user
    // has not resolved is never silently closed by an unrelated later edit.
    const renamedFrom = !row ? goneByContent.get(h.contentId) : undefined;
    if (renamedFrom) goneByContent.delete(h.contentId);
    const v = factory.mint(f.path, [base ?? { vv: {} }, ...heads.filter((x) => x.deleted)], {
      deleted: false,
      size: h.size,
      mode: f.mode,
      mtimeMs: Number(BigInt(f.mtimeNs) / 1_000_000n),
      contentId: h.contentId,
      chunks: h.chunks,
      ...(renamedFrom ? { renamedFrom } : {}),
    });
    versions.push(v);
    rowUpdates.push({ ...fileRow, versionId: v.id });
  }
  for (const r of diff.deleted) {
    const base = r.versionId ? s.db.getVersion(r.versionId) : null;
    const heads = s.db.headsOf(r.path);
    if (heads.length === 0 || heads.every((h) => h.deleted)) continue;
    versions.push(factory.mint(r.path, [base ?? { vv: {} }, ...heads.filter((x) => x.deleted)], { deleted: true, size: 0, mode: r.mode, mtimeMs: hashedAt, contentId: '', chunks: [] }));
  }
  return { versions, rowUpdates };
}
