import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteQueue } from './SqliteQueue';
import { TEST_KEY } from './queueFixture';

let dir: string;
let file: string;
const now = () => Date.UTC(2026, 0, 15, 10, 11, 12, 345);
const open = () => SqliteQueue.open(file, { key: TEST_KEY, now });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ccs-queue-open-'));
  file = join(dir, 'queue.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A valid queue file with enough ops to span many pages, closed cleanly (WAL checkpointed). */
function writeValidQueue(): void {
  const { queue } = open();
  queue.enqueueMany(Array.from({ length: 2000 }, (_, i) => ({ kind: 'upload', item: `file-${i}`, payload: { pad: 'x'.repeat(200) } })));
  queue.close();
}

function expectFreshQueueAfterRecovery(reasonPattern: RegExp, originalBytes: Buffer): void {
  const { queue, recovered } = open();
  try {
    expect(recovered).not.toBeNull();
    expect(recovered!.movedTo).toBe(`${file}.corrupt-2026-01-15T10-11-12-345Z`);
    expect(recovered!.reason).toMatch(reasonPattern);
    expect(recovered!.message).toContain(file);
    expect(recovered!.message).toContain(recovered!.movedTo);
    expect(recovered!.message).toMatch(/new, empty queue/);
    expect(readFileSync(recovered!.movedTo).equals(originalBytes)).toBe(true);
    expect(queue.list()).toEqual([]);
    const { id } = queue.enqueue({ kind: 'upload', item: 'after recovery' });
    expect(queue.next()!.id).toBe(id);
  } finally {
    queue.close();
  }
  // The fresh file is a healthy queue: opening again recovers nothing.
  const again = open();
  expect(again.recovered).toBeNull();
  expect(again.queue.list()).toHaveLength(1);
  again.queue.close();
}

describe('a corrupt or unreadable queue file', () => {
  it('garbage bytes: moved aside with a timestamp, a fresh queue is created, and the caller is told', () => {
    const garbage = randomBytes(64 * 1024);
    writeFileSync(file, garbage);
    expectFreshQueueAfterRecovery(/file is not a database/, garbage);
  });

  it('a valid queue truncated mid-file: moved aside, fresh queue', () => {
    writeValidQueue();
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const damaged = readFileSync(file);
    expectFreshQueueAfterRecovery(/malformed|quick_check/, damaged);
  });

  it('a page overwritten with garbage inside a valid file: caught by quick_check', () => {
    writeValidQueue();
    const bytes = readFileSync(file);
    randomBytes(4096).copy(bytes, 4096 * 3);
    writeFileSync(file, bytes);
    expectFreshQueueAfterRecovery(/quick_check|malformed/, bytes);
  });

  it('a queue whose key material is gone (its payloads can never be read) is moved aside', () => {
    writeValidQueue();
    const db = new Database(file);
    db.exec("DELETE FROM meta WHERE key = 'key_check'");
    db.close();
    const { queue, recovered } = open();
    expect(recovered!.reason).toBe('the key check is missing');
    expect(queue.list()).toEqual([]);
    queue.close();
  });

  it('something that cannot be opened at all (here a folder in its place) is moved aside too', () => {
    mkdirSync(file);
    const { queue, recovered } = open();
    expect(recovered).toMatchObject({ movedTo: `${file}.corrupt-2026-01-15T10-11-12-345Z`, reason: expect.stringMatching(/unable to open/) });
    expect(statSync(recovered!.movedTo).isDirectory()).toBe(true);
    queue.close();
  });

  it('never overwrites an earlier moved-aside file', () => {
    writeFileSync(file, randomBytes(8192));
    const first = open();
    first.queue.close();
    writeFileSync(file, randomBytes(8192));
    const second = open();
    second.queue.close();
    expect(second.recovered!.movedTo).toBe(`${first.recovered!.movedTo}-1`);
  });
});

describe('files that must not be moved aside', () => {
  it('a queue from a newer app version is refused, untouched', () => {
    writeValidQueue();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    expect(open).toThrow(expect.objectContaining({ code: 'FORMAT_UNSUPPORTED' }));
    expect(existsSync(file)).toBe(true);
  });

  it('another SQLite database passed by mistake is refused, untouched', () => {
    const db = new Database(file);
    db.exec('CREATE TABLE files (path TEXT)');
    db.close();
    expect(open).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('not a ccsync queue') }));
    expect(new Database(file).prepare('SELECT count(*) AS n FROM files').get()).toEqual({ n: 0 });
  });

  it('a queue written with another key: LOCKED, with what to do, untouched', () => {
    writeValidQueue();
    let error: unknown;
    try {
      SqliteQueue.open(file, { key: Buffer.alloc(32, 1) });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'LOCKED', message: expect.stringContaining('different key') });
    const { queue, recovered } = open();
    expect(recovered).toBeNull();
    expect(queue.list()).toHaveLength(2000);
    queue.close();
  });

  it('a queue already open (in this or another process) is BUSY, never recovered twice', () => {
    const first = open();
    first.queue.enqueue({ kind: 'upload', item: 'a' });
    first.queue.next();
    expect(open).toThrow(expect.objectContaining({ code: 'BUSY', message: expect.stringContaining('one owner at a time') }));
    expect(first.queue.list()[0]!.status).toBe('running');
    first.queue.close();
    const second = open();
    expect(second.queue.list()[0]!.status).toBe('pending');
    second.queue.close();
  });

  it('a folder that does not exist is a clear error, not a recovery', () => {
    expect(() => SqliteQueue.open(join(dir, 'missing', 'queue.db'), { key: TEST_KEY })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('does not exist') }));
  });
});
