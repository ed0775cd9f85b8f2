import { SingleBar } from 'cli-progress';
import { CcsError } from '../common/errors';
import type { DeviceSession } from '../engine/session';
import { runSync, type SyncOptions, type SyncProgress, type SyncReport } from '../engine/sync';
import { TransferControl } from '../transfer/transferControl';

const UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3, ti: 1024 ** 4 };
// A capital B or "bytes" only: "Mb" and "Mbps" usually mean megabits, which would be 8× off.
const RATE_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*(?:([kKmMgGtT]i?)(?:B|bytes?)?|B|bytes?)?(?:\/s)?$/;
const NO_LIMIT = new Set(['0', 'none', 'off', 'unlimited']);

/**
 * A bandwidth limit as users write it, in bytes per second: `5M` = `5MB/s` = 5,000,000 B/s,
 * `500k`, `1.5MiB/s` (binary prefixes with an i), `250000` (bytes). `0`, `none`, `off` and
 * `unlimited` mean no limit (null). Anything else (bits such as `5Mb`, negative or tiny rates,
 * unknown units) is a USAGE error.
 */
export function parseBandwidth(text: string, from = '--bwlimit'): number | null {
  const t = text.trim();
  if (NO_LIMIT.has(t.toLowerCase())) return null;
  const m = RATE_RE.exec(t);
  const rate = m ? Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]! : NaN;
  if (!Number.isFinite(rate) || rate < 1) {
    throw new CcsError('USAGE', `${from}: ${JSON.stringify(text)} is not a bandwidth: write bytes per second like 5M (5 MB/s), 500k, 1.5MiB/s or 250000, or 0 for no limit`);
  }
  return Math.round(rate);
}

/** 12.3 MB (decimal units, as --bwlimit reads them). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const PHASE: Record<SyncProgress['phase'], string> = { scan: 'scanning', upload: 'uploading', download: 'downloading', done: 'done' };

/** One line for logs: "uploading 12.3 MB / 50.0 MB (24%), 5.00 MB/s, ETA 8s, files 0/1". */
export function progressLine(p: SyncProgress): string {
  const head = p.paused ? `${PHASE[p.phase]} (paused)` : PHASE[p.phase];
  if (p.phase === 'scan') return `${head}…`;
  const pct = p.bytesTotal > 0 ? Math.min(100, Math.floor((p.bytesDone / p.bytesTotal) * 100)) : 100;
  return `${head} ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)} (${pct}%), ${formatBytes(p.bytesPerSecond)}/s, ETA ${formatEta(p.etaSeconds)}, files ${p.filesDone}/${p.filesTotal}`;
}

export interface ProgressDisplay {
  onProgress(p: SyncProgress): void;
  /** A message on its own line (the bar, if any, stays below it). */
  note(text: string): void;
  /** Removes the bar; nothing is shown after this. */
  stop(): void;
}

export interface DisplayOptions {
  json: boolean;
  stream?: NodeJS.WriteStream;
  /** Plain lines (not a TTY): at most this often (default 2 s). */
  lineIntervalMs?: number;
  now?: () => number;
}

/**
 * How `ccsync sync` shows progress: with --json nothing (only the final JSON); on a terminal a
 * bar with phase, bytes, speed and ETA; otherwise (a pipe, a log file, cron) a plain line at most
 * every 2 s, the first one after 2 s, so quick syncs print only their summary.
 */
export function createProgressDisplay(options: DisplayOptions): ProgressDisplay {
  const stream = options.stream ?? process.stdout;
  let stopped = false;
  if (options.json) return { onProgress: () => {}, note: () => {}, stop: () => {} };
  if (!stream.isTTY) {
    const now = options.now ?? (() => performance.now());
    const every = options.lineIntervalMs ?? 2000;
    let last = now();
    return {
      onProgress(p) {
        if (stopped || p.phase === 'done' || now() - last < every) return;
        last = now();
        stream.write(progressLine(p) + '\n');
      },
      note(text) {
        if (!stopped) stream.write(text + '\n');
      },
      stop() {
        stopped = true;
      },
    };
  }
  const bar = new SingleBar({
    stream,
    format: '{phase} [{bar}] {percentage}% | {bytes} | {speed} | ETA {etaText} | files {files}',
    barsize: 24,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
    barCompleteChar: '#',
    barIncompleteChar: '-',
  });
  let started = false;
  const payload = (p: SyncProgress) => ({
    phase: (p.paused ? `${PHASE[p.phase]} (paused)` : PHASE[p.phase]).padEnd(20),
    bytes: p.phase === 'scan' ? '' : `${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}`,
    speed: `${formatBytes(p.bytesPerSecond)}/s`,
    etaText: formatEta(p.etaSeconds),
    files: `${p.filesDone}/${p.filesTotal}`,
  });
  return {
    onProgress(p) {
      if (stopped || p.phase === 'done') return;
      const total = Math.max(1, p.bytesTotal);
      if (!started) {
        bar.start(total, p.bytesDone, payload(p));
        started = true;
        return;
      }
      bar.setTotal(total);
      bar.update(p.bytesDone, payload(p));
    },
    note(text) {
      if (stopped) return;
      // Above the bar: clear its line, write, and let the next update redraw it.
      stream.write(started ? `\r\x1b[2K${text}\n` : `${text}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (started) bar.stop();
    },
  };
}

/**
 * `ccsync sync` with progress and Ctrl-C: the first SIGINT cancels every transfer (the sync
 * fails with CANCELLED, exit code 1; nothing half-done is recorded, and packs already stored are
 * reused next time), a second one quits at once (exit code 130).
 */
export async function runSyncInteractive(s: DeviceSession, opts: SyncOptions, display: ProgressDisplay): Promise<SyncReport> {
  const control = new TransferControl();
  let interrupts = 0;
  const onSigint = (): void => {
    if (++interrupts > 1) {
      display.stop();
      process.stderr.write('\nccsync: interrupted twice, quitting at once\n');
      process.exit(130);
    }
    display.note('cancelling… (press Ctrl-C again to quit at once)');
    control.cancel('sync cancelled (interrupted); packs already stored are kept and reused: run `ccsync sync` again to finish');
  };
  process.on('SIGINT', onSigint);
  try {
    return await runSync(s, { ...opts, control, onProgress: (p) => display.onProgress(p) });
  } finally {
    process.off('SIGINT', onSigint);
    display.stop();
  }
}
