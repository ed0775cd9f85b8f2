import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../transfer/clock';
import { TransferControl } from '../transfer/transferControl';
import type { ChunkReader } from './chunkReader';
import type { Planned } from './materialize';
import type { PackWriter } from './packWriter';
import { SyncProgressReporter, type SyncProgress } from './syncProgress';

let t = 0;
const clock: Clock = { now: () => t, sleep: async () => {} };
/** Moves the reporter's clock and the timers together. */
const advance = (ms: number) => {
  t += ms;
  vi.advanceTimersByTime(ms);
};

function setup(control?: TransferControl) {
  const events: { at: number; p: SyncProgress }[] = [];
  const r = new SyncProgressReporter((p) => events.push({ at: t, p }), control, clock);
  return { r, events, last: () => events.at(-1)!.p };
}

const version = (path: string, chunks: string[], size: number, extra: Partial<Planned['version']> = {}) =>
  ({ version: { path, chunks, size, deleted: false, contentId: `c-${path}`, ...extra }, row: null }) as unknown as Planned;

describe('SyncProgressReporter', () => {
  beforeEach(() => {
    t = 0;
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('at most one event per 100 ms, the latest state delivered, the final one at once', () => {
    const { r, events, last } = setup();
    expect(last().phase).toBe('scan');
    r.startUpload([{ size: 1000 }, { size: 1000 }]);
    for (let i = 0; i < 100; i++) {
      r.onBytes('up', 10);
      advance(5);
    }
    advance(100);
    const gaps = events.slice(1).map((e, i) => e.at - events[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100);
    expect(events.length).toBeLessThanOrEqual(1 + 500 / 100 + 1);
    expect(last()).toMatchObject({ phase: 'upload', bytesDone: 1000, bytesTotal: 2000, filesTotal: 2 });
    r.finish();
    expect(last().phase).toBe('done');
    const n = events.length;
    r.onBytes('up', 10);
    advance(1000);
    expect(events.length).toBe(n);
  });

  it('upload: the total shrinks by chunks found already stored; a file counts once its bytes are sent', async () => {
    const { r, last } = setup();
    const known = new Set(['dup']);
    const writer = { add: async (id: string) => !known.has(id) } as unknown as PackWriter;
    r.startUpload([{ size: 300 }, { size: 500 }]);
    r.watchWriter(writer);
    await writer.add('dup', Buffer.alloc(300));
    r.fileHashed(300); // entirely deduplicated: done without sending anything
    await writer.add('new', Buffer.alloc(500));
    r.fileHashed(500);
    advance(200);
    expect(last()).toMatchObject({ bytesDone: 0, bytesTotal: 500, filesDone: 1 });
    r.onBytes('up', 400);
    advance(200);
    expect(last()).toMatchObject({ bytesDone: 400, bytesTotal: 500, filesDone: 1 });
    r.onBytes('up', 120); // a little more than planned (encryption, the log entry): the total follows
    r.onBytes('down', 999); // downloads do not count in the upload phase
    advance(200);
    expect(last()).toMatchObject({ bytesDone: 520, bytesTotal: 520, filesDone: 2 });
  });

  it('download: exact total of the versions to fetch (deletions and renames excluded), files done by chunk', async () => {
    const { r, last } = setup();
    const reader = { read: async (c: { id: string; rawLength: number }) => Buffer.alloc(c.rawLength) } as unknown as ChunkReader;
    r.watchReader(reader);
    const moved = { ...version('new/name', ['m'], 7, { renamedFrom: 'old/name', contentId: 'same' }) };
    const gone = { version: { path: 'old/name', deleted: true, chunks: [], size: 0 }, row: { contentId: 'same' } } as unknown as Planned;
    r.startDownload([version('a', ['x', 'y'], 30), version('b', ['x'], 10), version('empty', [], 0), moved, gone]);
    advance(200);
    expect(last()).toMatchObject({ phase: 'download', bytesDone: 0, bytesTotal: 40, filesDone: 1, filesTotal: 3 });
    const read = (id: string, n: number) => reader.read({ id, rawLength: n } as never);
    await read('x', 10);
    await read('y', 20);
    advance(200);
    expect(last()).toMatchObject({ bytesDone: 30, filesDone: 2 });
    await read('x', 10);
    advance(200);
    expect(last()).toMatchObject({ bytesDone: 40, filesDone: 3, etaSeconds: 0 });
  });

  it('says when transfers are paused, with no ETA', () => {
    const control = new TransferControl();
    const { r, last } = setup(control);
    r.startUpload([{ size: 1000 }]);
    r.onBytes('up', 100);
    advance(1000);
    r.onBytes('up', 100);
    advance(200);
    expect(last().etaSeconds).toBeGreaterThan(0);
    control.pause();
    advance(200);
    expect(last()).toMatchObject({ paused: true, etaSeconds: null });
    control.resume();
    advance(200);
    expect(last().paused).toBe(false);
    r.close();
  });
});
