import { readFileSync, existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PayloadCipher } from './payloadCipher';
import { openTempQueue, type QueueFixture } from './queueFixture';

const salt = Buffer.alloc(16, 3);

describe('PayloadCipher', () => {
  const cipher = new PayloadCipher(Buffer.alloc(32, 9), salt);

  it('round-trips JSON with a fresh nonce each time', () => {
    const a = cipher.seal({ token: 't', n: [1, 2] }, 'key-1');
    const b = cipher.seal({ token: 't', n: [1, 2] }, 'key-1');
    expect(a.equals(b)).toBe(false);
    expect(cipher.open(a, 'key-1', 1)).toEqual({ token: 't', n: [1, 2] });
    expect(cipher.open(cipher.seal(undefined, 'k'), 'k', 1)).toBeNull();
  });

  it('rejects a payload moved to another op, a flipped bit and a truncated blob as OBJECT_CORRUPT', () => {
    const sealed = cipher.seal('secret', 'key-1');
    expect(() => cipher.open(sealed, 'key-2', 7)).toThrow(expect.objectContaining({ code: 'OBJECT_CORRUPT', message: expect.stringContaining('#7') }));
    const flipped = Buffer.from(sealed);
    flipped[20]! ^= 1;
    expect(() => cipher.open(flipped, 'key-1', 7)).toThrow(expect.objectContaining({ code: 'OBJECT_CORRUPT' }));
    expect(() => cipher.open(sealed.subarray(0, 10), 'key-1', 7)).toThrow(expect.objectContaining({ code: 'OBJECT_CORRUPT' }));
  });

  it('derives a different key per salt and recognises its own key check', () => {
    const other = new PayloadCipher(Buffer.alloc(32, 9), Buffer.alloc(16, 4));
    expect(() => other.open(cipher.seal(1, 'k'), 'k', 1)).toThrow();
    expect(cipher.matches(new PayloadCipher(Buffer.alloc(32, 9), salt).keyCheck)).toBe(true);
    expect(cipher.matches(new PayloadCipher(Buffer.alloc(32, 8), salt).keyCheck)).toBe(false);
    expect(() => new PayloadCipher(Buffer.alloc(16), salt)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});

describe('payloads at rest in the queue file', () => {
  let f: QueueFixture;
  beforeEach(() => {
    f = openTempQueue();
  });
  afterEach(() => f.cleanup());

  const MARKER = 'MARKER-7f3a9c-do-not-store-in-plaintext';
  const rawBytes = () => Buffer.concat([f.file, `${f.file}-wal`].filter(existsSync).map((p) => readFileSync(p)));

  it('never appear in plaintext, in the database or its WAL', () => {
    // Control: the item is stored in plaintext (documented), so a plaintext marker would be found.
    f.queue.enqueue({ kind: 'upload', item: 'ITEM-IN-PLAINTEXT', payload: { apiKey: MARKER } });
    f.queue.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ kind: 'upload', item: `f${i}`, payload: { apiKey: MARKER, i } })));
    expect(rawBytes().includes('ITEM-IN-PLAINTEXT')).toBe(true);
    expect(rawBytes().includes(MARKER)).toBe(false);
    f.queue.close();
    expect(rawBytes().includes(MARKER)).toBe(false);
    expect(f.reopen().queue.next()!.payload).toEqual({ apiKey: MARKER });
  });

  it('a damaged payload fails its own op (blocking its dependents) without stopping the queue', () => {
    const bad = f.queue.enqueue({ kind: 'upload', item: 'bad', payload: 'x' }).id;
    const after = f.queue.enqueue({ kind: 'upload', item: 'after' }, { dependsOn: [bad] }).id;
    const good = f.queue.enqueue({ kind: 'upload', item: 'good', payload: 'y' }).id;
    f.queue.db.raw.prepare("UPDATE ops SET payload = (SELECT payload FROM ops WHERE id = ?) WHERE id = ?").run(good, bad);
    expect(f.queue.claim(10).map((o) => o.id)).toEqual([good]);
    expect(f.queue.get(bad)).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/^OBJECT_CORRUPT: queue op #\d+: payload fails authentication/) });
    expect(f.queue.get(after)!.status).toBe('blocked');
  });
});
