import { stat } from 'node:fs/promises';
import { BoundedPool } from '../common/boundedPool';
import { CcsError } from '../common/errors';
import { HLC_ZERO, hlcNow, hlcParse, hlcReceive, hlcToString, type Hlc } from '../common/hlc';
import { vaultPathProblem } from '../common/vaultPath';
import { vvMerge } from '../common/versionVector';
import { loadIgnoreRules } from '../vault/ignoreRules';
import { readRootMarker, writeRootMarker } from '../vault/rootMarker';
import { scanRoot, type ScanProblem } from '../vault/scanner';
import type { FileRow } from '../vault/stateDb';
import { ChunkReader } from './chunkReader';
import type { LogEntry, VersionRecord } from './format';
import { conflictingHeads, ingestVersion, pickWinner } from './heads';
import { diffLocal, hashFile, type HashedFile } from './localChanges';
import { readHeads, readLogEntry, tryReadLogEntry, writeHead, writeLogEntry } from './logStore';
import { materialize, type Planned } from './materialize';
import { PackWriter } from './packWriter';
import type { DeviceSession } from './session';
import { newStats, type TransferStats } from './transferStats';

/**
 * One sync of one device, in numbered steps (docs/DESIGN.md "Sync steps"):
 *  1. check the root (exists, marker matches) and the remote;
 *  2. fetch every device's new log entries, validate them all, then ingest them in one transaction;
 *  3. scan the root; hash only files whose stat changed;
 *  4. guard against mass deletion;
 *  5. upload new chunks in packs, then the log entry, then the head (write ordering);
 *  6. bring winning remote versions into the working copy (stage, verify, then rename);
 *  7. record the result.
 */
export interface SyncOptions {
  /** Allow a sync that deletes more than the mass-delete threshold. */
  allowMassDelete?: boolean;
  /** Clock source, replaceable in tests to simulate skewed devices. */
  now?: () => number;
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
}

/** A sync may delete at most this share of tracked files (and more than MASS_DELETE_MIN) without --allow-mass-delete. */
export const MASS_DELETE_FRACTION = 0.5;
export const MASS_DELETE_MIN = 5;

export async function runSync(s: DeviceSession, opts: SyncOptions = {}): Promise<SyncReport> {
  const started = performance.now();
  const now = opts.now ?? Date.now;
  const stats = newStats();
  const me = s.config.deviceId;
  const root = s.config.root;

  // 1. root and remote
  await checkRoot(s);
  await s.remote.check();

  // 2. fetch, validate, ingest
  const entries = await fetchNewEntries(s, stats);
  let clock = loadClock(s);
  const rejected: ScanProblem[] = [];
  s.db.tx(() => {
    for (const e of entries) {
      for (const p of e.packs) s.db.addPack(p.id, p.size, p.chunks);
      for (const v of e.versions) {
        // Paths from other devices are untrusted: a version this device could not write safely
        // is never ingested (it cannot be materialized, and it must not win over a good one).
        const problem = vaultPathProblem(v.path);
        if (problem) {
          rejected.push({ path: v.path, message: `version ${v.id} from device ${e.deviceName} rejected: path ${problem}` });
          continue;
        }
        ingestVersion(s.db, v);
        clock = hlcReceive(clock, hlcParse(v.hlc), now());
        if (v.device === me) bumpCounter(s, v.id);
      }
      s.db.setDevice(e.device, e.deviceName, e.seq);
    }
    s.db.setMeta('hlc', hlcToString(clock));
  });

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
  guardMassDelete(diff.deleted.map((r) => r.path), rows.size, 'this device', opts);

  const writer = new PackWriter(s.remote, s.keys, s.manifest.compression, s.manifest.packSize, stats, (id) => s.db.hasChunk(id));
  const deferred: string[] = [];
  const hashed = new Map<string, HashedFile>();
  // Small files are dominated by open/read/close round trips: overlap a few of them.
  const hashing = new BoundedPool(8);
  for (const f of diff.candidates) {
    await hashing.run(async () => {
      const h = await hashFile(root, f, s.keys, s.manifest, writer);
      if (h) hashed.set(f.path, h);
      else deferred.push(f.path);
    });
  }
  await hashing.drain();
  const packs = await writer.flush();

  // 5. new versions → log entry → head
  const newVersions: VersionRecord[] = [];
  const rowUpdates: FileRow[] = [];
  const counter = { n: Number(s.db.getMeta('counter') ?? '0') };
  const hashedAt = now();
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
    clock = hlcNow(clock, now());
    const v = newVersion(s, counter, f.path, base, heads, clock, { deleted: false, size: h.size, mode: f.mode, mtimeMs: Number(BigInt(f.mtimeNs) / 1_000_000n), contentId: h.contentId, chunks: h.chunks });
    newVersions.push(v);
    rowUpdates.push({ ...fileRow, versionId: v.id });
  }
  for (const r of diff.deleted) {
    const base = r.versionId ? s.db.getVersion(r.versionId) : null;
    const heads = s.db.headsOf(r.path);
    if (heads.length === 0 || heads.every((h) => h.deleted)) continue;
    clock = hlcNow(clock, now());
    newVersions.push(newVersion(s, counter, r.path, base, heads, clock, { deleted: true, size: 0, mode: r.mode, mtimeMs: now(), contentId: '', chunks: [] }));
  }

  if (newVersions.length > 0 || packs.length > 0) {
    const seq = s.db.deviceSeq(me) + 1;
    const entry: LogEntry = { format: 1, device: me, deviceName: s.config.deviceName, seq, hlc: hlcToString(clock), createdAt: new Date(now()).toISOString(), packs, versions: newVersions };
    await writeLogEntry(s.remote, s.keys, entry, stats);
    s.db.tx(() => {
      for (const p of packs) s.db.addPack(p.id, p.size, p.chunks);
      for (const v of newVersions) ingestVersion(s.db, v);
      s.db.setDevice(me, s.config.deviceName, seq);
      s.db.setMeta('hlc', hlcToString(clock));
      s.db.setMeta('counter', String(counter.n));
    });
    await writeHead(s.remote, s.keys, { device: me, deviceName: s.config.deviceName, seq, updatedAt: new Date(now()).toISOString() }, stats);
  }
  s.db.tx(() => {
    for (const r of rowUpdates) s.db.putFile(r);
    for (const r of diff.deleted) s.db.deleteFile(r.path);
  });

  // 6. materialize winners
  const deferredSet = new Set(deferred);
  const problemPaths = new Set(scan.problems.map((p) => p.path.normalize('NFC')));
  const currentRows = s.db.allFiles();
  const plans: Planned[] = [];
  const adopt: FileRow[] = [];
  const allHeads = s.db.allHeads();
  for (const [path, heads] of allHeads) {
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
    if (!row && scan.files.has(path)) continue; // untracked local file at this path: it was deferred above
    plans.push({ version: winner, row });
  }
  guardMassDelete(plans.filter((p) => p.version.deleted).map((p) => p.version.path), currentRows.size, 'other devices', opts);
  const reader = new ChunkReader(s.remote, s.keys, stats);
  const applied = await materialize(root, s.db, reader, plans);
  s.db.tx(() => {
    for (const r of [...adopt, ...applied.rows]) s.db.putFile(r);
    for (const p of applied.removed) s.db.deleteFile(p);
    s.db.setMeta('lastSync', new Date(now()).toISOString());
  });

  // 7. record
  const fileCount = s.db.allFiles().size;
  await writeRootMarker(root, { vaultId: s.config.vaultId, deviceId: me, files: fileCount, updatedAt: new Date(now()).toISOString() });
  const conflictPaths = [...s.db.allHeads()].filter(([, h]) => conflictingHeads(h).length > 0).map(([p]) => p).sort();
  return {
    pushed: newVersions.length,
    pulled: applied.rows.length + applied.removed.length,
    conflicts: conflictPaths.length,
    bytesUploaded: stats.bytesUploaded,
    bytesDownloaded: stats.bytesDownloaded,
    durationMs: Math.round(performance.now() - started),
    conflictPaths,
    problems: [...rejected, ...scan.problems, ...applied.refused],
    deferred: [...deferred, ...applied.skipped],
  };
}

function newVersion(
  s: DeviceSession,
  counter: { n: number },
  path: string,
  base: VersionRecord | null,
  heads: VersionRecord[],
  clock: Hlc,
  body: Pick<VersionRecord, 'deleted' | 'size' | 'mode' | 'mtimeMs' | 'contentId' | 'chunks'>,
): VersionRecord {
  const me = s.config.deviceId;
  // The new version descends from what the working copy held, and from concurrent deletions
  // (an edit wins over a delete); it stays concurrent with other live heads, so a conflict the
  // user has not resolved is never silently closed by an unrelated later edit.
  const vv = vvMerge(base?.vv ?? {}, ...heads.filter((h) => h.deleted).map((h) => h.vv));
  const ownMax = Math.max(0, ...s.db.historyOf(path).map((v) => v.vv[me] ?? 0));
  vv[me] = ownMax + 1;
  return { id: `${me}-${++counter.n}`, path, vv, hlc: hlcToString(clock), device: me, ...body };
}

/** After reading our own entries back (crash recovery), never reuse a counter already published. */
function bumpCounter(s: DeviceSession, versionId: string): void {
  const n = Number(versionId.split('-')[1]);
  if (n > Number(s.db.getMeta('counter') ?? '0')) s.db.setMeta('counter', String(n));
}

function loadClock(s: DeviceSession): Hlc {
  const v = s.db.getMeta('hlc');
  return v ? hlcParse(v) : HLC_ZERO;
}

function guardMassDelete(paths: string[], tracked: number, by: string, opts: SyncOptions): void {
  if (opts.allowMassDelete || paths.length <= MASS_DELETE_MIN || paths.length <= tracked * MASS_DELETE_FRACTION) return;
  const preview = paths.slice(0, 10).map((p) => `  ${p}`).join('\n');
  throw new CcsError(
    'MASS_DELETE',
    `this sync would delete ${paths.length} of ${tracked} files (deleted by ${by}); nothing was changed. First files:\n${preview}${paths.length > 10 ? `\n  … and ${paths.length - 10} more` : ''}\nIf this is intended, run \`ccsync sync --allow-mass-delete\`.`,
  );
}

async function checkRoot(s: DeviceSession): Promise<void> {
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

/** Reads every device's entries newer than our cursor, including our own after a crash. Validates all before returning. */
async function fetchNewEntries(s: DeviceSession, stats: TransferStats): Promise<LogEntry[]> {
  const me = s.config.deviceId;
  const heads = await readHeads(s.remote, s.keys, stats);
  const out: LogEntry[] = [];
  const seen = new Set<string>();
  for (const h of heads) {
    seen.add(h.device);
    const from = s.db.deviceSeq(h.device) + 1;
    for (let seq = from; seq <= h.seq; seq++) out.push(await readLogEntry(s.remote, s.keys, h.device, seq, stats));
    if (h.device === me) await probeOwn(s, Math.max(h.seq, from - 1) + 1, out, stats);
  }
  if (!seen.has(me)) await probeOwn(s, s.db.deviceSeq(me) + 1, out, stats);
  return out;
}

/** Entries we wrote just before a crash (log written, head or local commit not): read them back. */
async function probeOwn(s: DeviceSession, from: number, out: LogEntry[], stats: TransferStats): Promise<void> {
  for (let seq = from; ; seq++) {
    const e = await tryReadLogEntry(s.remote, s.keys, s.config.deviceId, seq, stats);
    if (!e) return;
    out.push(e);
  }
}

