import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncProgressDto } from '../core/api/contract';
import { isCcsError } from '../core/common/errors';
import { createSyncHost } from '../core/host/createSyncHost';
import type { SyncOptions, SyncProgress, SyncReport } from '../core/engine/sync';
import type { ObjectInfo, PutOptions, Remote } from '../core/remotes/remote';
import { makeDevices, readTree, runCli, tempDir, treesEqual, TEST_PASSWORD, type TestDevice } from '../core/test-support/vaultHarness';
import { TokenBucket } from '../core/transfer/tokenBucket';
import { TransferControl } from '../core/transfer/transferControl';

// Issue #4: a bandwidth limit holds on a real push (real device, real folder remote, random data
// that does not compress), can change while the sync runs, and pause/resume/cancel act on it.

const MB = 1_000_000;
const LIMIT = 5 * MB; // --bwlimit 5M
const SIZE = 50 * MB;
const TOLERANCE = 0.15;
const CLI = fileURLToPath(new URL('../bin/ccsync.mjs', import.meta.url));

const within = (value: number, target: number, tolerance = TOLERANCE) => {
  expect(value).toBeGreaterThanOrEqual(target * (1 - tolerance));
  expect(value).toBeLessThanOrEqual(target * (1 + tolerance));
};

/** Below the throttle (sessions wrap the remote first): records when each put reaches the store. */
class CountingRemote implements Remote {
  readonly description: string;
  readonly puts: { at: number; bytes: number }[] = [];
  constructor(readonly inner: Remote) {
    this.description = inner.description;
  }
  check() {
    return this.inner.check();
  }
  create() {
    return this.inner.create();
  }
  put(name: string, data: Uint8Array, options?: PutOptions) {
    this.puts.push({ at: performance.now(), bytes: data.length });
    return this.inner.put(name, data, options);
  }
  get(name: string) {
    return this.inner.get(name);
  }
  getRange(name: string, offset: number, length: number) {
    return this.inner.getRange(name, offset, length);
  }
  stat(name: string): Promise<ObjectInfo | null> {
    return this.inner.stat(name);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  delete(name: string) {
    return this.inner.delete(name);
  }
}

interface Pushed {
  report: SyncReport;
  /** The upload phase as the progress events show it: first 'upload' event → first later phase. */
  start: number;
  end: number;
  seconds: number;
  /** Bytes uploaded / seconds of the upload phase. */
  rate: number;
  events: { at: number; p: SyncProgress }[];
  counting: CountingRemote;
}

/** Replaces the device's files with one new 50 MB random file and syncs it, timing the upload phase. */
async function push(d: TestDevice, name: string, opts: SyncOptions & { onUploadStart?: () => void } = {}): Promise<Pushed> {
  for (const f of await readdir(d.root)) if (f.endsWith('.bin')) await rm(join(d.root, f));
  await writeFile(join(d.root, name), randomBytes(SIZE));
  let counting: CountingRemote | null = null;
  d.wrapRemote = (r) => (counting = new CountingRemote(r));
  const events: Pushed['events'] = [];
  const { onUploadStart, ...syncOpts } = opts;
  try {
    const report = await d.sync({
      ...syncOpts,
      onProgress: (p) => {
        if (p.phase === 'upload' && !events.some((e) => e.p.phase === 'upload')) onUploadStart?.();
        events.push({ at: performance.now(), p });
      },
    });
    const first = events.find((e) => e.p.phase === 'upload')!;
    const after = events.find((e) => e.at >= first.at && (e.p.phase === 'download' || e.p.phase === 'done'))!;
    const seconds = (after.at - first.at) / 1000;
    return { report, start: first.at, end: after.at, seconds, rate: report.bytesUploaded / seconds, events, counting: counting! };
  } finally {
    d.wrapRemote = undefined;
  }
}

const fmt = (bytesPerSecond: number) => `${(bytesPerSecond / MB).toFixed(2)} MB/s`;

describe('bandwidth limit on a real folder remote (50 MB of random data)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let remote: string;
  let A: TestDevice;
  let B: TestDevice;
  let plainSeconds = 0;

  beforeAll(async () => {
    dir = await tempDir('ccsync-bwlimit-');
    remote = join(dir.path, 'remote');
    [A, B] = (await makeDevices(dir.path, remote, 2)) as [TestDevice, TestDevice];
  });
  afterAll(() => dir.cleanup());

  it('5 MB/s: the push takes 10 s ± 15% (uploaded bytes / seconds of the upload phase)', async () => {
    const r = await push(A, 'first.bin', { bwlimit: LIMIT });
    plainSeconds = r.seconds;
    console.log(`bwlimit 5 MB/s: ${r.report.bytesUploaded} B in ${r.seconds.toFixed(2)} s = ${fmt(r.rate)}`);
    expect(r.report.pushed).toBe(1);
    expect(r.report.bytesUploaded).toBeGreaterThanOrEqual(SIZE);
    within(r.rate, LIMIT); // an ignored limit would be many times faster
    within(r.seconds, SIZE / LIMIT);

    // Progress: the planned total is the file size, bytes only grow, ≤ 10 events a second.
    const ups = r.events.filter((e) => e.p.phase === 'upload');
    expect(ups[0]!.p.bytesTotal).toBe(SIZE);
    for (let i = 1; i < ups.length; i++) expect(ups[i]!.p.bytesDone).toBeGreaterThanOrEqual(ups[i - 1]!.p.bytesDone);
    for (const e of ups) expect(e.p.bytesTotal).toBeGreaterThanOrEqual(e.p.bytesDone);
    const mid = ups.find((e) => e.at - r.start > 4000)!;
    within(mid.p.bytesPerSecond, LIMIT);
    expect(mid.p.etaSeconds).not.toBeNull();
    within(mid.p.etaSeconds! + (mid.at - r.start) / 1000, SIZE / LIMIT, 0.2);
    const gaps = r.events.slice(1, -1).map((e, i) => e.at - r.events[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(95);
    expect(r.events.at(-1)!.p).toMatchObject({ phase: 'done', paused: false });
  });

  it('a rate raised to 20 MB/s after 2 s applies to the running transfer', async () => {
    const bucket = new TokenBucket({ bytesPerSecond: LIMIT });
    let changedAt = 0;
    const r = await push(A, 'second.bin', {
      bandwidth: bucket,
      onUploadStart: () =>
        setTimeout(() => {
          bucket.setRate(20 * MB);
          changedAt = performance.now();
        }, 2000),
    });
    const before = r.events.filter((e) => e.at <= changedAt).at(-1)!;
    const bytesAtChange = before.p.bytesDone + ((changedAt - before.at) / 1000) * LIMIT;
    const fastRate = (r.report.bytesUploaded - bytesAtChange) / ((r.end - changedAt) / 1000);
    // 2 s at 5 MB/s plus the first burst (a quarter second), the rest at 20 MB/s.
    const expected = 2 + (r.report.bytesUploaded - 2 * LIMIT - LIMIT / 4) / (20 * MB);
    console.log(`5 → 20 MB/s after 2 s: ${r.seconds.toFixed(2)} s (expected ${expected.toFixed(2)} s), ${fmt(fastRate)} after the change, ${fmt(r.rate)} overall`);
    within(r.seconds, expected);
    within(fastRate, 20 * MB);
    expect(r.seconds).toBeLessThan(plainSeconds * 0.6);
  });

  it('pause for 1 s, then resume: nothing moves while paused, the push takes ~1 s longer', async () => {
    const control = new TransferControl();
    let pausedAt = 0;
    let resumedAt = 0;
    const r = await push(A, 'third.bin', {
      bwlimit: LIMIT,
      control,
      onUploadStart: () =>
        setTimeout(() => {
          control.pause();
          pausedAt = performance.now();
          setTimeout(() => {
            resumedAt = performance.now();
            control.resume();
          }, 1000);
        }, 2000),
    });
    const active = r.seconds - (resumedAt - pausedAt) / 1000;
    console.log(`pause 1 s: ${r.seconds.toFixed(2)} s (unpaused ${plainSeconds.toFixed(2)} s), ${fmt(r.report.bytesUploaded / active)} while running`);
    expect(pausedAt).toBeGreaterThan(0);
    expect(resumedAt - pausedAt).toBeGreaterThanOrEqual(1000);
    // No object reached the remote while paused, and progress stood still (and said so).
    expect(r.counting.puts.filter((p) => p.at > pausedAt && p.at < resumedAt)).toEqual([]);
    const during = r.events.filter((e) => e.at > pausedAt && e.at < resumedAt);
    expect(during.length).toBeGreaterThan(0);
    for (const e of during) expect(e.p).toMatchObject({ paused: true, etaSeconds: null });
    const atPause = r.events.filter((e) => e.at <= pausedAt + 150).at(-1)!.p.bytesDone;
    for (const e of during.filter((x) => x.at > pausedAt + 150)) expect(e.p.bytesDone).toBe(atPause);
    within(r.report.bytesUploaded / active, LIMIT);
    // Longer by about the pause (less the quarter second of burst the bucket refills meanwhile).
    expect(r.seconds - plainSeconds).toBeGreaterThanOrEqual(0.5);
    expect(r.seconds - plainSeconds).toBeLessThanOrEqual(1.5);
  });

  it('cancel stops the sync with CANCELLED (engine and Ctrl-C in the CLI); the next sync completes and B gets the same tree', async () => {
    // Engine: cancel 1.5 s into the upload.
    const control = new TransferControl();
    let cancelledAt = 0;
    const failed = await push(A, 'fourth.bin', {
      bwlimit: LIMIT,
      control,
      onUploadStart: () =>
        setTimeout(() => {
          control.cancel('stopped by the test');
          cancelledAt = performance.now();
        }, 1500),
    }).then(
      () => null,
      (e: unknown) => e,
    );
    const stoppedAfter = performance.now() - cancelledAt;
    expect(isCcsError(failed, 'CANCELLED')).toBe(true);
    expect(stoppedAfter).toBeLessThan(1000);

    // CLI: SIGINT while a --bwlimit 5M push runs.
    await writeFile(join(A.root, 'fifth.bin'), randomBytes(SIZE));
    const env = { ...process.env, CCSYNC_PASSWORD: TEST_PASSWORD };
    const child = spawn(process.execPath, [CLI, '--home', A.home, 'sync', '--bwlimit', '5M'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 3000));
    const signalledAt = performance.now();
    child.kill('SIGINT');
    const code = await exited;
    const exitAfter = performance.now() - signalledAt;
    console.log(`Ctrl-C: exit ${code} after ${exitAfter.toFixed(0)} ms; ${stderr.trim()}`);
    expect(code).toBe(1);
    expect(stderr).toMatch(/sync cancelled.*\[CANCELLED\]/);
    expect(stdout).toContain('cancelling');
    expect(exitAfter).toBeLessThan(2000);

    // The next sync (limit from the environment) completes; B then holds the same tree.
    const again = await runCli(['--home', A.home, 'sync', '--json'], { env: { CCSYNC_PASSWORD: TEST_PASSWORD, CCSYNC_BWLIMIT: '200M' } });
    expect(again.code, again.stderr).toBe(0);
    const j = JSON.parse(again.stdout) as { pushed: number; bytesUploaded: number };
    expect(j.pushed).toBe(3); // fourth.bin, fifth.bin, and third.bin deleted by the cancelled sync
    console.log(`after the cancels, the next sync uploaded ${j.bytesUploaded} B for ${2 * SIZE} B of files (packs stored before the cancel are reused)`);
    const b = await runCli(['--home', B.home, 'sync', '--json'], { env: { CCSYNC_PASSWORD: TEST_PASSWORD } });
    expect(b.code, b.stderr).toBe(0);
    const [ta, tb] = [await readTree(A.root), await readTree(B.root)];
    expect([...tb.keys()].sort()).toEqual(['fifth.bin', 'fourth.bin']);
    expect(treesEqual(ta, tb)).toBe(true);
  });

  it('the host: bandwidth limit, pause, resume and cancel of the running sync, progress events', async () => {
    const host = await createSyncHost({ home: A.home, secretStore: A.store, onNotice: () => {} });
    try {
      const events: { at: number; p: SyncProgressDto }[] = [];
      host.onDidChangeProgress((p) => events.push({ at: performance.now(), p }));
      await expect(host.sync.setBandwidthLimit(0)).rejects.toMatchObject({ code: 'USAGE' });
      await host.sync.setBandwidthLimit(LIMIT);
      await expect(host.sync.getProgress()).resolves.toBeNull();
      await host.sync.pauseSync(); // nothing runs: no effect

      for (const f of await readdir(A.root)) if (f.endsWith('.bin')) await rm(join(A.root, f));
      await writeFile(join(A.root, 'host.bin'), randomBytes(20 * MB));
      const started = performance.now();
      const syncing = host.sync.syncNow();
      const waitFor = async (test: () => boolean) => {
        while (!test()) await new Promise((r) => setTimeout(r, 20));
      };
      await waitFor(() => events.some((e) => e.p.phase === 'upload' && e.p.bytesDone > 2 * MB));
      await host.sync.pauseSync();
      await waitFor(() => events.at(-1)!.p.paused);
      expect((await host.sync.getProgress())!.paused).toBe(true);
      const held = (await host.sync.getProgress())!.bytesDone;
      await new Promise((r) => setTimeout(r, 500));
      expect((await host.sync.getProgress())!.bytesDone).toBe(held);
      await host.sync.resumeSync();
      await host.sync.setBandwidthLimit(null); // the rest at full speed
      const result = await syncing;
      const seconds = (performance.now() - started) / 1000;
      console.log(`host: 20 MB, 5 MB/s limit, paused 0.5 s, then the limit lifted: ${seconds.toFixed(2)} s`);
      expect(result.pushed).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThan((20 * MB) / LIMIT); // the lifted limit applied to the running sync
      expect(events.at(-1)!.p.phase).toBe('done');
      await expect(host.sync.getProgress()).resolves.toBeNull();

      // Cancel: the running sync fails with CANCELLED.
      await host.sync.setBandwidthLimit(LIMIT);
      await writeFile(join(A.root, 'host2.bin'), randomBytes(20 * MB));
      events.length = 0;
      const cancelled = host.sync.syncNow();
      await waitFor(() => events.some((e) => e.p.phase === 'upload' && e.p.bytesDone > 0));
      await host.sync.cancelSync();
      await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
      await host.sync.setBandwidthLimit(null);
      await expect(host.sync.syncNow()).resolves.toMatchObject({ pushed: 1 });
    } finally {
      await host.close();
    }
  });

  it('queued handler ops after the sync (e.g. re-encryption) move bytes under the same limit', async () => {
    const { openDeviceQueue } = await import('../core/engine/deviceQueue');
    const { readDeviceConfig } = await import('../core/engine/deviceConfig');
    const { queuedSync, registerOpHandler } = await import('../core/engine/queuedSync');
    let moved = 0;
    let seconds = 0;
    const unregister = registerOpHandler('test-fetch-all', async (s) => {
      const started = performance.now();
      for (const o of await s.remote.list('data/')) {
        moved += (await s.remote.get(o.name)).length;
        if (moved >= 2 * SIZE) break; // ~5 s: the bucket's quarter-second burst stays small against it
      }
      seconds = (performance.now() - started) / 1000;
    });
    try {
      const q = await openDeviceQueue(A.home, await readDeviceConfig(A.home), { secretStore: A.store });
      q.enqueue({ kind: 'test-fetch-all', item: 'data/' });
      q.close();
      const rate = 20 * MB;
      await queuedSync(A.home, { unlock: { secretStore: A.store }, sync: { bwlimit: rate } });
      console.log(`handler under a 20 MB/s limit: ${moved} B in ${seconds.toFixed(2)} s = ${fmt(moved / seconds)}`);
      expect(moved).toBeGreaterThanOrEqual(2 * SIZE);
      within(moved / seconds, rate);
    } finally {
      unregister();
    }
  });

  it('rejects a nonsense --bwlimit or CCSYNC_BWLIMIT with a usage error', async () => {
    const env = { CCSYNC_PASSWORD: TEST_PASSWORD };
    const bad = await runCli(['--home', A.home, 'sync', '--bwlimit', 'fast'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--bwlimit: "fast" is not a bandwidth.*\[USAGE\]/);
    const badEnv = await runCli(['--home', A.home, 'sync'], { env: { ...env, CCSYNC_BWLIMIT: '5 Mbit' } });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('CCSYNC_BWLIMIT');
  });
});
