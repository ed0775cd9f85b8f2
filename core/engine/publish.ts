import { FORMAT_VERSION, type PackRef, type UnsignedLogEntry, type VersionRecord } from './format';
import { ingestVersion } from './heads';
import { assertCurrentEpoch } from './keyring/staleKey';
import { writeHead, writeLogEntry } from './logStore';
import type { DeviceSession } from './session';
import type { TransferStats } from './transferStats';
import type { VersionFactory } from './versionFactory';

/**
 * Publishes new versions in the write order of docs/DESIGN.md §6.1: the packs are already
 * durable (the caller flushed its PackWriter), then the log entry (create-only), then the local
 * commit, then the head. `extra` runs inside the local commit's transaction.
 */
export async function publish(s: DeviceSession, factory: VersionFactory, sealed: PackRef[], versions: VersionRecord[], stats: TransferStats, now: number, extra?: () => void): Promise<void> {
  const me = s.config.deviceId;
  // Packs stored by an earlier, interrupted sync are published too: their chunks were reused
  // (not re-sent) by this sync's dedup, so versions here may reference them.
  const ids = new Set(sealed.map((p) => p.id));
  const packs = [...sealed, ...s.db.unpublishedPacks().filter((p) => !ids.has(p.id))];
  const seq = s.db.deviceSeq(me) + 1;
  // Stale-key lockout: never publish under an epoch the vault has moved past (a rotation or a
  // revocation happened while this sync ran); the caller reopens the session and tries again.
  await assertCurrentEpoch(s.remote, s.keys);
  const entry: UnsignedLogEntry = { format: FORMAT_VERSION, device: me, deviceName: s.config.deviceName, seq, hlc: versions[versions.length - 1]?.hlc ?? '0.0', createdAt: new Date(now).toISOString(), packs, versions };
  await writeLogEntry(s.remote, s.keys, entry, stats);
  s.db.tx(() => {
    for (const p of packs) s.db.addPack(p.id, p.size, p.chunks);
    s.db.markPublished(packs.map((p) => p.id));
    for (const v of versions) ingestVersion(s.db, v);
    s.db.setDevice(me, s.config.deviceName, seq);
    factory.persist();
    extra?.();
  });
  await writeHead(s.remote, s.keys, { device: me, deviceName: s.config.deviceName, seq, updatedAt: new Date(now).toISOString() }, stats);
}
