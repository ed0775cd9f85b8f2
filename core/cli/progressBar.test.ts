import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SyncProgress } from '../engine/sync';
import { createProgressDisplay, formatBytes, formatEta, parseBandwidth, progressLine } from './progressBar';

describe('parseBandwidth', () => {
  it('reads decimal and binary prefixes, bytes, and an optional /s', () => {
    const cases: [string, number][] = [
      ['5M', 5_000_000],
      ['5MB', 5_000_000],
      ['5 MB/s', 5_000_000],
      ['500k', 500_000],
      ['500K', 500_000],
      ['500kB/s', 500_000],
      ['1.5MiB/s', 1_572_864],
      ['2Gi', 2 * 1024 ** 3],
      ['1T', 1e12],
      ['250000', 250_000],
      ['250000B', 250_000],
      ['64 bytes/s', 64],
      ['.5M', 500_000],
      [' 5M ', 5_000_000],
    ];
    for (const [text, want] of cases) expect(parseBandwidth(text), text).toBe(want);
  });

  it('reads 0, none, off and unlimited as no limit', () => {
    for (const t of ['0', 'none', 'OFF', 'unlimited']) expect(parseBandwidth(t)).toBeNull();
  });

  it('rejects nonsense with a USAGE error naming where it came from', () => {
    for (const t of ['', 'fast', '-5M', '5X', '5Mb', '5Mbps', '1e6', '5M/h', '0.5', 'M', '5..0M', 'NaN', 'Infinity']) {
      expect(() => parseBandwidth(t, 'CCSYNC_BWLIMIT'), t).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('CCSYNC_BWLIMIT') }));
    }
  });
});

describe('formatting', () => {
  it('bytes in decimal units, ETA in s/m/h', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(5_000_000)).toBe('5.00 MB');
    expect(formatBytes(12_345_678)).toBe('12.3 MB');
    expect(formatBytes(123_456_789)).toBe('123 MB');
    expect(formatEta(null)).toBe('--');
    expect(formatEta(8.4)).toBe('8s');
    expect(formatEta(125)).toBe('2m05s');
    expect(formatEta(7300)).toBe('2h01m');
  });

  it('one plain line per state', () => {
    const p: SyncProgress = { phase: 'upload', bytesDone: 12_300_000, bytesTotal: 50_000_000, filesDone: 0, filesTotal: 1, bytesPerSecond: 5_000_000, etaSeconds: 7.5, paused: false };
    expect(progressLine(p)).toBe('uploading 12.3 MB / 50.0 MB (24%), 5.00 MB/s, ETA 8s, files 0/1');
    expect(progressLine({ ...p, paused: true, etaSeconds: null })).toMatch(/^uploading \(paused\) .* ETA --/);
    expect(progressLine({ ...p, phase: 'scan' })).toBe('scanning…');
  });
});

function sink(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(w, { isTTY, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream: w, text: () => out };
}

const at = (phase: SyncProgress['phase'], bytesDone: number): SyncProgress => ({ phase, bytesDone, bytesTotal: 100, filesDone: 0, filesTotal: 1, bytesPerSecond: 10, etaSeconds: 1, paused: false });

describe('createProgressDisplay', () => {
  it('prints nothing with --json', () => {
    const s = sink(false);
    const d = createProgressDisplay({ json: true, stream: s.stream });
    d.onProgress(at('upload', 50));
    d.note('x');
    d.stop();
    expect(s.text()).toBe('');
  });

  it('without a TTY: a plain line at most every 2 s, the first after 2 s, none after stop', () => {
    const s = sink(false);
    let t = 0;
    const d = createProgressDisplay({ json: false, stream: s.stream, now: () => t });
    for (t = 0; t <= 5000; t += 100) d.onProgress(at('upload', t / 100));
    d.stop();
    d.onProgress(at('upload', 99));
    const lines = s.text().trim().split('\n');
    expect(lines).toEqual(['uploading 20 B / 100 B (20%), 10 B/s, ETA 1s, files 0/1', 'uploading 40 B / 100 B (40%), 10 B/s, ETA 1s, files 0/1']);
  });

  it('on a TTY draws a bar and clears it on stop', () => {
    const s = sink(true);
    const d = createProgressDisplay({ json: false, stream: s.stream });
    d.onProgress(at('upload', 50));
    d.stop();
    expect(s.text()).toContain('uploading');
    expect(s.text()).toContain('50%');
  });
});
