import { lstat, readFile, unlink } from 'node:fs/promises';
import { chunkBuffer } from '../chunking/fastcdc';
import { CcsError } from '../common/errors';
import { hlcParse } from '../common/hlc';
import { assertVaultPath } from '../common/vaultPath';
import { hmacSha256 } from '../crypto/keys';
import { writeFileAtomic, safeLocalPath, ensureParent } from '../vault/localFs';
import { ChunkReader } from './chunkReader';
import { ContentLoader } from './contentLoader';
import { fetchNewEntries, ingestEntries } from './fetchEntries';
import type { VersionRecord } from './format';
import { conflictingHeads, pickWinner } from './heads';
import { contentIdOf } from './localChanges';
import { mergeKindOf } from './mergePass';
import { asText } from './merge/textMerge';
import { packWriterFor } from './packWriter';
import { publish } from './publish';
import type { DeviceSession } from './session';
import { isConflicted } from './sync';
import { newStats } from './transferStats';
import { VersionFactory } from './versionFactory';

/** One side of a conflict as `ccsync conflicts --json` shows it. */
export interface ConflictSide {
  versionId: string;
  device: string;
  deviceName: string;
  time: string;
  size: number;
  /** First line of text content, or "binary, N bytes". */
  summary: string;
  /** True for the version the working copy holds. */
  applied: boolean;
}

export interface ConflictInfo {
  path: string;
  /** 'content': concurrent versions kept side by side; 'json-keys': a JSON merge settled same-key edits by rule. */
  kind: 'content' | 'json-keys';
  devices: string[];
  versions: ConflictSide[];
  /** For 'json-keys': the keys and the competing values. */
  keys?: NonNullable<VersionRecord['review']>;
}

export interface HistoryEntry {
  versionId: string;
  device: string;
  deviceName: string;
  time: string;
  deleted: boolean;
  size: number;
  head: boolean;
  current: boolean;
  mergedFrom?: string[];
}

function deviceNames(s: DeviceSession): Map<string, string> {
  return new Map(s.db.devices().map((d) => [d.id, d.name]));
}

const timeOf = (v: VersionRecord) => new Date(hlcParse(v.hlc).wall).toISOString();

async function summarize(loader: ContentLoader, v: VersionRecord): Promise<string> {
  if (v.deleted) return 'deleted';
  if (v.size > 1024 * 1024) return `${v.size} bytes`;
  const text = asText(await loader.load(v));
  if (text === null) return `binary, ${v.size} bytes`;
  const first = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return first.length > 80 ? first.slice(0, 77) + '…' : first;
}

export async function listConflicts(s: DeviceSession): Promise<ConflictInfo[]> {
  const names = deviceNames(s);
  const loader = new ContentLoader(s, new ChunkReader(s.remote, s.keys, newStats()));
  const rows = s.db.allFiles();
  const out: ConflictInfo[] = [];
  for (const [path, heads] of [...s.db.allHeads()].sort(([a], [b]) => a.localeCompare(b))) {
    if (!isConflicted(heads)) continue;
    const live = conflictingHeads(heads);
    const winner = pickWinner(heads);
    const sides = live.length > 0 ? live : [winner];
    const versions: ConflictSide[] = [];
    for (const v of sides) {
      versions.push({ versionId: v.id, device: v.device, deviceName: names.get(v.device) ?? v.device, time: timeOf(v), size: v.size, summary: await summarize(loader, v), applied: rows.get(path)?.versionId === v.id });
    }
    out.push({
      path,
      kind: live.length > 0 ? 'content' : 'json-keys',
      devices: [...new Set(versions.map((v) => v.deviceName))],
      versions,
      ...(live.length === 0 ? { keys: winner.review ?? [] } : {}),
    });
  }
  return out;
}

export function historyOf(s: DeviceSession, path: string): HistoryEntry[] {
  const names = deviceNames(s);
  const heads = new Set(s.db.headsOf(path).map((h) => h.id));
  const current = s.db.getFile(path)?.versionId;
  return s.db
    .historyOf(path)
    .sort((a, b) => hlcParse(a.hlc).wall - hlcParse(b.hlc).wall || hlcParse(a.hlc).counter - hlcParse(b.hlc).counter)
    .map((v) => ({
      versionId: v.id,
      device: v.device,
      deviceName: names.get(v.device) ?? v.device,
      time: timeOf(v),
      deleted: v.deleted,
      size: v.size,
      head: heads.has(v.id),
      current: v.id === current,
      ...(v.mergedFrom ? { mergedFrom: v.mergedFrom } : {}),
    }));
}

export type Keep = 'local' | 'remote' | 'both' | 'merged';

/**
 * Ends a conflict with a new version that causally dominates every head, so it propagates and
 * ends the conflict on every device. local = this device's side (else the applied one), remote =
 * the other side; both = text: local then remote content; binary: local stays at the path and
 * remote is written next to it as "<name> (<device>)<ext>" — an explicit user choice, never
 * automatic; merged = the bytes of --from FILE.
 */
export async function resolveConflict(s: DeviceSession, path: string, keep: Keep, fromFile?: string): Promise<{ versionId: string; extra?: string }> {
  assertVaultPath(path);
  await refresh(s);
  const heads = s.db.headsOf(path);
  if (!isConflicted(heads)) throw new CcsError('USAGE', `${path} has no conflict (see \`ccsync conflicts\`)`);
  const loader = new ContentLoader(s, new ChunkReader(s.remote, s.keys, newStats()));
  const live = conflictingHeads(heads);
  const row = s.db.getFile(path);
  const localSide = live.find((h) => h.device === s.config.deviceId) ?? live.find((h) => h.id === row?.versionId) ?? pickWinner(heads);
  const remoteSide = live.filter((h) => h !== localSide).sort((a, b) => hlcParse(b.hlc).wall - hlcParse(a.hlc).wall)[0] ?? localSide;
  let content: Buffer;
  let extra: { path: string; content: Buffer } | undefined;
  if (keep === 'merged') {
    if (!fromFile) throw new CcsError('USAGE', '--keep merged needs --from FILE with the merged content');
    content = await readFile(fromFile);
  } else if (keep === 'local') content = await loader.load(localSide);
  else if (keep === 'remote') content = await loader.load(remoteSide);
  else {
    const [a, b] = [await loader.load(localSide), await loader.load(remoteSide)];
    if (mergeKindOf(path, [a, b]) === 'binary') {
      content = a;
      const dot = path.lastIndexOf('.');
      const name = (who: string) => (dot > path.lastIndexOf('/') ? `${path.slice(0, dot)} (${who})${path.slice(dot)}` : `${path} (${who})`);
      extra = { path: name(deviceNames(s).get(remoteSide.device) ?? remoteSide.device), content: b };
    } else content = Buffer.concat([a, a.length && a[a.length - 1] !== 0x0a ? Buffer.from('\n') : Buffer.alloc(0), b]);
  }
  const v = await writeVersion(s, path, content, heads, localSide.mode);
  if (extra) await writeVersion(s, extra.path, extra.content, s.db.headsOf(extra.path), remoteSide.mode);
  return extra ? { versionId: v.id, extra: extra.path } : { versionId: v.id };
}

/** Brings back an older version as a new version on top of everything (nothing is lost). */
export async function restoreVersion(s: DeviceSession, path: string, versionId: string): Promise<{ versionId: string }> {
  assertVaultPath(path);
  await refresh(s);
  const old = s.db.getVersion(versionId);
  if (!old || old.path !== path) throw new CcsError('USAGE', `no version ${versionId} of ${path} (see \`ccsync history ${path}\`)`);
  const loader = new ContentLoader(s, new ChunkReader(s.remote, s.keys, newStats()));
  const v = await writeVersion(s, path, await loader.load(old), s.db.headsOf(path), old.mode, old.deleted);
  return { versionId: v.id };
}

/** Pulls the latest remote state first, so the new version dominates what other devices wrote. */
async function refresh(s: DeviceSession): Promise<void> {
  await s.remote.check();
  ingestEntries(s, await fetchNewEntries(s, newStats()), new VersionFactory(s, Date.now));
}

async function writeVersion(s: DeviceSession, path: string, content: Buffer, heads: VersionRecord[], mode: number, deleted = false): Promise<VersionRecord> {
  const stats = newStats();
  const writer = packWriterFor(s, stats);
  const ids: string[] = [];
  if (!deleted) {
    for (const chunk of chunkBuffer(content, s.manifest.chunker, s.keys.gear)) {
      const id = hmacSha256(s.keys.subkeys.chunkId, chunk).toString('hex');
      ids.push(id);
      await writer.add(id, chunk);
    }
  }
  const factory = new VersionFactory(s, Date.now);
  const v = factory.mint(path, heads, { deleted, size: deleted ? 0 : content.length, mode, mtimeMs: Date.now(), contentId: deleted ? '' : contentIdOf(s.keys, ids), chunks: ids });
  // The working copy is updated first (atomically): if publishing then fails, the next sync sees
  // a local edit and publishes it, so the user's choice is never lost.
  const abs = await safeLocalPath(s.config.root, path);
  const row = s.db.getFile(path);
  if (deleted) {
    await unlink(abs).catch(() => {});
  } else {
    await ensureParent(abs);
    await writeFileAtomic(abs, content, mode & 0o111 ? 0o755 : 0o644);
  }
  await publish(s, factory, await writer.flush(), [v], stats, Date.now(), () => {
    if (deleted) s.db.deleteFile(path);
  });
  if (!deleted) {
    const st = await lstat(abs, { bigint: true });
    s.db.putFile({
      path,
      localPath: row?.localPath ?? path,
      size: Number(st.size),
      mtimeNs: st.mtimeNs.toString(),
      ctimeNs: st.ctimeNs.toString(),
      ino: st.ino.toString(),
      mode,
      contentId: v.contentId,
      versionId: v.id,
      hashedAt: Date.now(),
    });
  }
  return v;
}

