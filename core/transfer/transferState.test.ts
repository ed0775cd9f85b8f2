import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTempQueue, runUntilKilled, type QueueFixture } from '../queue/queueFixture';
import { multipartStateStore } from './multipartStateStore';
import { TransferState } from './transferState';

let f: QueueFixture;
let state: TransferState;
beforeEach(() => {
  f = openTempQueue();
  state = new TransferState(f.queue.db, () => f.time.now);
});
afterEach(() => f.cleanup());

const reopen = () => {
  f.reopen();
  state = new TransferState(f.queue.db, () => f.time.now);
};

describe('TransferState', () => {
  it('continues after a restart from the last confirmed part', () => {
    state.start('op-key-1', { totalBytes: 10 * 100 });
    for (let part = 1; part <= 4; part++) state.confirmPart('op-key-1', { partNumber: part, size: 100, etag: null });
    reopen();
    expect(state.resumePoint('op-key-1')).toEqual({ nextPart: 5, offset: 400 });
    expect(state.get('op-key-1')).toMatchObject({ totalBytes: 1000, uploadId: null, parts: [1, 2, 3, 4].map((n) => ({ partNumber: n, size: 100, etag: null })) });
  });

  it('survives kill -9 of the process in the middle of a transfer', async () => {
    f.queue.close();
    await runUntilKilled(`
      import { SqliteQueue } from './SqliteQueue';
      import { TransferState } from '../transfer/transferState';
      const { queue } = SqliteQueue.open(${JSON.stringify(f.file)}, { key: Buffer.alloc(32, 0x5a) });
      const transfers = new TransferState(queue.db);
      transfers.start('pack-7', { uploadId: 'u-1', partSize: 5 });
      for (let p = 1; p <= 3; p++) transfers.confirmPart('pack-7', { partNumber: p, size: 5, etag: 'e' + p });
      process.kill(process.pid, 'SIGKILL'); // while part 4 is "in flight"
    `);
    reopen();
    expect(state.resumePoint('pack-7')).toEqual({ nextPart: 4, offset: 15 });
    expect(await multipartStateStore(state).load('pack-7')).toEqual({
      uploadId: 'u-1',
      partSize: 5,
      parts: [1, 2, 3].map((n) => ({ partNumber: n, etag: `e${n}`, size: 5 })),
    });
  });

  it('resumes after the contiguous prefix; parts confirmed beyond a gap are listed for the caller', () => {
    state.start('k');
    state.confirmParts('k', [1, 2, 4, 5].map((n) => ({ partNumber: n, size: 10, etag: `e${n}` })));
    expect(state.resumePoint('k')).toEqual({ nextPart: 3, offset: 20 });
    expect(state.get('k')!.parts.map((p) => p.partNumber)).toEqual([1, 2, 4, 5]);
    expect(state.resumePoint('unknown')).toEqual({ nextPart: 1, offset: 0 });
  });

  it('start restarts a transfer; clear forgets it; confirming before start is a bug', () => {
    state.start('k', { uploadId: 'old' });
    state.confirmPart('k', { partNumber: 1, size: 1, etag: 'a' });
    state.start('k', { uploadId: 'new' });
    expect(state.get('k')).toMatchObject({ uploadId: 'new', parts: [] });
    state.start('other');
    expect(state.keys()).toEqual(['k', 'other']);
    state.clear('k');
    expect(state.get('k')).toBeNull();
    expect(() => state.confirmPart('k', { partNumber: 1, size: 1, etag: null })).toThrow(/before start/);
    expect(() => state.confirmPart('other', { partNumber: 0, size: 1, etag: null })).toThrow(/invalid part/);
  });
});

describe('multipartStateStore', () => {
  it('round-trips exactly { uploadId, partSize, parts: [{ partNumber, etag, size }] }', async () => {
    const store = multipartStateStore(state);
    expect(await store.load('obj')).toBeNull();
    const saved = { uploadId: 'upl-1', partSize: 8 * 1024 * 1024, parts: [{ partNumber: 1, etag: '"abc"', size: 8 * 1024 * 1024 }] };
    await store.save('obj', saved);
    expect(await store.load('obj')).toEqual(saved);
    reopen();
    expect(await multipartStateStore(state).load('obj')).toEqual(saved);
  });

  it('writes only new parts when the full state is saved after every part', async () => {
    const store = multipartStateStore(state);
    const parts: { partNumber: number; etag: string; size: number }[] = [];
    const writes: number[] = [];
    const confirm = state.confirmParts.bind(state);
    state.confirmParts = (key, ps) => {
      writes.push(ps.length);
      confirm(key, ps);
    };
    for (let n = 1; n <= 50; n++) {
      parts.push({ partNumber: n, etag: `e${n}`, size: 100 });
      await store.save('obj', { uploadId: 'u', partSize: 100, parts: [...parts] });
    }
    expect(writes).toEqual(Array<number>(50).fill(1));
    expect((await store.load('obj'))!.parts).toHaveLength(50);
  });

  it('a new upload id, a new part size or a dropped part replaces the stored state', async () => {
    const store = multipartStateStore(state);
    await store.save('obj', { uploadId: 'u1', partSize: 10, parts: [1, 2].map((n) => ({ partNumber: n, etag: `e${n}`, size: 10 })) });
    await store.save('obj', { uploadId: 'u2', partSize: 10, parts: [{ partNumber: 1, etag: 'x', size: 10 }] });
    expect(await store.load('obj')).toEqual({ uploadId: 'u2', partSize: 10, parts: [{ partNumber: 1, etag: 'x', size: 10 }] });
    await store.save('obj', { uploadId: 'u2', partSize: 10, parts: [] });
    expect((await store.load('obj'))!.parts).toEqual([]);
    await store.clear('obj');
    expect(await store.load('obj')).toBeNull();
  });
});
