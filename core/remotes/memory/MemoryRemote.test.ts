import { describe, expect, it } from 'vitest';
import { isCcsError } from '../../common/errors';
import { remoteConformance } from '../../test-support/remoteConformance';
import { MemoryRemote } from './MemoryRemote';

remoteConformance('memory', async () => ({ remote: new MemoryRemote(), cleanup: async () => undefined }));

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: unknown) => (isCcsError(e) ? e.code : `non-CcsError: ${String(e)}`),
  );
}

describe('MemoryRemote', () => {
  it('offline makes every call REMOTE_UNREACHABLE, and coming back restores the data', async () => {
    const r = new MemoryRemote();
    await r.put('a/b', Buffer.from('x'));
    r.offline = true;
    for (const call of [
      r.check(),
      r.create(),
      r.put('a/c', Buffer.from('y')),
      r.put('a/c', Buffer.from('y'), { createOnly: true }),
      r.get('a/b'),
      r.getRange('a/b', 0, 1),
      r.stat('a/b'),
      r.list(''),
      r.delete('a/b'),
    ]) {
      expect(await codeOf(call)).toBe('REMOTE_UNREACHABLE');
    }
    r.offline = false;
    expect(r.names()).toEqual(['a/b']);
    expect(await r.get('a/b')).toEqual(Buffer.from('x'));
  });

  it('offline still rejects invalid names first', async () => {
    const r = new MemoryRemote();
    r.offline = true;
    await expect(r.get('../x')).rejects.toThrow(/invalid object name/);
    await expect(r.list('/x')).rejects.toThrow(/invalid object name prefix/);
  });

  it('exists = false behaves like an unmounted drive until create()', async () => {
    const r = new MemoryRemote('mem://t', { exists: false });
    expect(await codeOf(r.check())).toBe('REMOTE_NOT_FOUND');
    expect(await codeOf(r.list(''))).toBe('REMOTE_NOT_FOUND');
    expect(await codeOf(r.stat('x'))).toBe('REMOTE_NOT_FOUND');
    await r.create();
    await r.check();
    expect(await r.list('')).toEqual([]);
  });

  it('corrupt() mutates a copy of the stored bytes', async () => {
    const r = new MemoryRemote();
    await r.put('packs/p', Buffer.from('abcdef'));
    let seen: Buffer | undefined;
    r.corrupt('packs/p', (b) => {
      seen = b;
      b[0] = 0x7a;
      return b.subarray(0, 3);
    });
    seen![1] = 0x7a; // a test keeping the buffer cannot reach the store
    expect(await r.get('packs/p')).toEqual(Buffer.from('zbc'));
    expect(await codeOf(r.getRange('packs/p', 0, 6))).toBe('OBJECT_CORRUPT');
    expect(() => r.corrupt('nope', (b) => b)).toThrow(/no object nope/);
  });

  it('names() lists every name sorted', async () => {
    const r = new MemoryRemote();
    for (const n of ['b', 'a/z', 'a/b']) await r.put(n, Buffer.alloc(0));
    expect(r.names()).toEqual(['a/b', 'a/z', 'b']);
  });
});
