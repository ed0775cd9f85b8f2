import type { ScanProblem } from '../vault/scanner';
import { isCcsError } from '../common/errors';
import { vaultPathProblem } from '../common/vaultPath';
import type { LogEntry } from './format';
import { ingestVersion } from './heads';
import { readHeads, readLogEntry, tryReadLogEntry } from './logStore';
import type { DeviceSession } from './session';
import type { TransferStats } from './transferStats';
import type { VersionFactory } from './versionFactory';

/** Reads every device's entries newer than our cursor, including our own after a crash. Validates all before returning. */
export async function fetchNewEntries(s: DeviceSession, stats: TransferStats, problems: ScanProblem[] = []): Promise<LogEntry[]> {
  const me = s.config.deviceId;
  const refused: Array<{ device: string; message: string }> = [];
  const heads = await readHeads(s.remote, s.keys, stats, refused);
  const out: LogEntry[] = [];
  const seen = new Set<string>();
  for (const h of heads) {
    seen.add(h.device);
    const from = s.db.deviceSeq(h.device) + 1;
    try {
      for (let seq = from; seq <= h.seq; seq++) out.push(await readLogEntry(s.remote, s.keys, h.device, seq, stats));
    } catch (e) {
      // An entry this vault does not trust stops that device's log here (entries are applied in
      // order); other devices go on syncing.
      if (!isCcsError(e, 'UNTRUSTED')) throw e;
      refused.push({ device: h.device, message: e.message });
      continue;
    }
    if (h.device === me) await probeOwn(s, Math.max(h.seq, from - 1) + 1, out, stats);
  }
  for (const r of refused) problems.push({ path: `log/${r.device}`, message: r.message });
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

/**
 * Records fetched entries in one transaction. Paths from other devices are untrusted: a version
 * this device could not write safely is never ingested (it cannot be materialized, and must not
 * win over a good one); it is reported instead.
 */
export function ingestEntries(s: DeviceSession, entries: LogEntry[], factory: VersionFactory): ScanProblem[] {
  const rejected: ScanProblem[] = [];
  s.db.tx(() => {
    for (const e of entries) {
      for (const p of e.packs) s.db.addPack(p.id, p.size, p.chunks);
      for (const v of e.versions) {
        const problem = vaultPathProblem(v.path);
        if (problem) {
          rejected.push({ path: v.path, message: `version ${v.id} from device ${e.deviceName} rejected: path ${problem}` });
          continue;
        }
        ingestVersion(s.db, v);
        factory.observe(v);
      }
      s.db.setDevice(e.device, e.deviceName, e.seq);
    }
    factory.persist();
  });
  return rejected;
}
