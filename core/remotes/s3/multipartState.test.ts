import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  JsonFileMultipartStateStore,
  MemoryMultipartStateStore,
  type MultipartState,
  type MultipartStateStore,
} from './multipartState';

const state = (parts: number): MultipartState => ({
  uploadId: 'upload-1',
  partSize: 8 * 1024 * 1024,
  parts: Array.from({ length: parts }, (_, i) => ({ partNumber: i + 1, etag: `"etag${i + 1}"`, size: 8 * 1024 * 1024 })),
});

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ccs-mpstate-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe.each([
  ['memory', (): MultipartStateStore => new MemoryMultipartStateStore()],
  ['JSON file', (): MultipartStateStore => new JsonFileMultipartStateStore(path.join(dir, 'state.json'))],
])('%s multipart state store', (_label, make) => {
  it('loads what was saved, null after clear or when never saved', async () => {
    const store = make();
    expect(await store.load('k')).toBeNull();
    await store.save('k', state(2));
    await store.save('other', state(1));
    expect(await store.load('k')).toEqual(state(2));
    await store.clear('k');
    expect(await store.load('k')).toBeNull();
    expect(await store.load('other')).toEqual(state(1));
    await store.clear('never-saved');
  });

  it('hands out copies, so a caller cannot change what is stored', async () => {
    const store = make();
    const s = state(1);
    await store.save('k', s);
    s.parts.push({ partNumber: 2, etag: 'x', size: 1 });
    const loaded = (await store.load('k'))!;
    loaded.parts[0]!.etag = 'changed';
    expect(await store.load('k')).toEqual(state(1));
  });

  it('keeps every one of many concurrent saves in order', async () => {
    const store = make();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.save(`k${i}`, state(i))));
    for (let i = 0; i < 20; i++) expect((await store.load(`k${i}`))?.parts).toHaveLength(i);
  });

  it('refuses a malformed state', async () => {
    const store = make();
    await expect(store.save('k', { uploadId: '', partSize: 1, parts: [] })).rejects.toThrow();
    await expect(
      store.save('k', { uploadId: 'u', partSize: 1, parts: [{ partNumber: 0, etag: 'e', size: 1 }] }),
    ).rejects.toThrow();
  });
});

describe('JsonFileMultipartStateStore', () => {
  it('survives a new instance (a restarted process) and leaves no temp files', async () => {
    const file = path.join(dir, 'state.json');
    await new JsonFileMultipartStateStore(file).save('k', state(3));
    const reopened = new JsonFileMultipartStateStore(file);
    expect(await reopened.load('k')).toEqual(state(3));
    expect(await reopened.keys()).toEqual(['k']);
    expect(await fs.readdir(dir)).toEqual(['state.json']);
  });

  it('reports a corrupt file instead of forgetting uploads', async () => {
    const file = path.join(dir, 'state.json');
    await fs.writeFile(file, JSON.stringify({ k: { uploadId: 'u', partSize: 'big', parts: [] } }));
    await expect(new JsonFileMultipartStateStore(file).load('k')).rejects.toThrow(/not valid/);
  });
});
