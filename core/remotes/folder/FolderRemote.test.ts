import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isCcsError } from '../../common/errors';
import { remoteConformance } from '../../test-support/remoteConformance';
import { FolderRemote } from './FolderRemote';

remoteConformance('folder', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ccs-folder-remote-'));
  const remote = new FolderRemote(path.join(dir, 'store'));
  await remote.create();
  return { remote, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: unknown) => (isCcsError(e) ? e.code : `non-CcsError: ${String(e)}`),
  );
}

/** Every file and directory below `dir`, relative, including dotfiles. */
async function tree(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

describe('FolderRemote', () => {
  let base: string;
  let root: string;
  let remote: FolderRemote;

  beforeEach(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'ccs-folder-'));
    root = path.join(base, 'store');
    remote = new FolderRemote(root);
    await remote.create();
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await fs.rm(base, { recursive: true, force: true });
  });

  it('maps a/b/c to <root>/a/b/c and describes itself by absolute path', async () => {
    await remote.put('a/b/c', Buffer.from('abc'));
    expect(await fs.readFile(path.join(root, 'a', 'b', 'c'), 'utf8')).toBe('abc');
    expect(remote.description).toBe(root);
    expect(new FolderRemote(`${root}/sub/../`).description).toBe(root);
  });

  it('rejects a relative root', () => {
    expect(() => new FolderRemote('relative/dir')).toThrow(/absolute/);
  });

  it('leaves no temp files after puts, createOnly wins and createOnly losses', async () => {
    await remote.put('data/00/x', Buffer.alloc(1000, 1));
    await remote.put('data/00/x', Buffer.alloc(10, 2));
    await remote.put('log/1', Buffer.from('e'), { createOnly: true });
    await remote.put('log/1', Buffer.from('e'), { createOnly: true }).catch(() => undefined);
    await Promise.allSettled(Array.from({ length: 10 }, () => remote.put('log/2', Buffer.from('r'), { createOnly: true })));
    expect(await tree(root)).toEqual(['data', 'data/00', 'data/00/x', 'log', 'log/1', 'log/2']);
  });

  it('creates missing parent directories', async () => {
    await remote.put('deep/er/and/deeper/obj', Buffer.from('x'));
    expect((await fs.stat(path.join(root, 'deep/er/and/deeper'))).isDirectory()).toBe(true);
  });

  describe('a missing root (unmounted drive)', () => {
    beforeEach(async () => {
      await remote.put('data/00/x', Buffer.from('x'));
      await fs.rm(root, { recursive: true });
    });

    it('check() is REMOTE_NOT_FOUND with a hint', async () => {
      const err = await remote.check().catch((e: unknown) => e);
      expect(isCcsError(err, 'REMOTE_NOT_FOUND')).toBe(true);
      expect((err as Error).message).toBe(`remote folder ${root} does not exist (is the drive mounted?)`);
    });

    it('every operation is REMOTE_NOT_FOUND, never "no objects"', async () => {
      // A fresh instance too, so no cached state hides the problem.
      for (const r of [remote, new FolderRemote(root)]) {
        expect(await codeOf(r.list(''))).toBe('REMOTE_NOT_FOUND');
        expect(await codeOf(r.list('data/'))).toBe('REMOTE_NOT_FOUND');
        expect(await codeOf(r.list('data/0'))).toBe('REMOTE_NOT_FOUND');
        expect(await codeOf(r.get('data/00/x'))).toBe('REMOTE_NOT_FOUND');
        expect(await codeOf(r.getRange('data/00/x', 0, 1))).toBe('REMOTE_NOT_FOUND');
        expect(await codeOf(r.stat('data/00/x'))).toBe('REMOTE_NOT_FOUND');
        expect(await codeOf(r.delete('data/00/x'))).toBe('REMOTE_NOT_FOUND');
        expect(await codeOf(r.put('data/00/y', Buffer.from('y')))).toBe('REMOTE_NOT_FOUND');
        expect(await codeOf(r.put('top', Buffer.from('y')))).toBe('REMOTE_NOT_FOUND');
      }
    });

    it('put never creates the root (it would fill the mount point)', async () => {
      await remote.put('data/00/y', Buffer.from('y')).catch(() => undefined);
      await expect(fs.stat(root)).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('invalid names are still rejected as names, before touching the disk', async () => {
      const err = await remote.get('../x').catch((e: unknown) => e);
      expect(isCcsError(err)).toBe(false);
      expect((err as Error).message).toMatch(/invalid object name/);
    });

    it('create() brings it back', async () => {
      await remote.create();
      await remote.check();
      expect(await remote.list('')).toEqual([]);
    });
  });

  it('a root that is a file is REMOTE_NOT_FOUND', async () => {
    const file = path.join(base, 'file');
    await fs.writeFile(file, 'x');
    const r = new FolderRemote(file);
    expect(await codeOf(r.check())).toBe('REMOTE_NOT_FOUND');
    expect(await codeOf(r.list(''))).toBe('REMOTE_NOT_FOUND');
    expect(await codeOf(r.get('x'))).toBe('REMOTE_NOT_FOUND');
  });

  it('does not list leftovers of a crash or foreign files', async () => {
    await remote.put('data/00/x', Buffer.from('x'));
    await fs.writeFile(path.join(root, 'data/00/.tmp-0123456789abcdef~'), 'partial');
    await fs.writeFile(path.join(root, '.tmp-fedcba9876543210~'), 'partial');
    await fs.writeFile(path.join(root, 'data/00/x (conflicted copy)'), 'dropbox');
    await fs.writeFile(path.join(root, '.DS_Store'), 'mac');
    await fs.mkdir(path.join(root, 'Uppercase'));
    await fs.writeFile(path.join(root, 'Uppercase/x'), 'nope');
    expect(await remote.list('')).toEqual([{ name: 'data/00/x', size: 1 }]);
    expect(await remote.list('data/00/')).toEqual([{ name: 'data/00/x', size: 1 }]);
  });

  it('a truncated file read past its end is OBJECT_CORRUPT', async () => {
    await remote.put('packs/p', Buffer.alloc(100, 9));
    await fs.truncate(path.join(root, 'packs/p'), 50);
    const err = await remote.getRange('packs/p', 40, 20).catch((e: unknown) => e);
    expect(isCcsError(err, 'OBJECT_CORRUPT')).toBe(true);
    expect((err as Error).message).toMatch(/short read/);
    expect(await remote.getRange('packs/p', 40, 10)).toEqual(Buffer.alloc(10, 9));
  });

  it('a directory where an object is expected is a missing object', async () => {
    await fs.mkdir(path.join(root, 'dironly'));
    expect(await codeOf(remote.get('dironly'))).toBe('OBJECT_MISSING');
    expect(await codeOf(remote.getRange('dironly', 0, 0))).toBe('OBJECT_MISSING');
    expect(await remote.stat('dironly')).toBeNull();
    await remote.delete('dironly');
  });

  describe('path escapes', () => {
    let outside: string;

    beforeEach(async () => {
      outside = path.join(base, 'outside');
      await fs.mkdir(outside);
      await fs.writeFile(path.join(outside, 'secret'), 'local secret');
    });

    it('names cannot climb out of the root', async () => {
      for (const n of ['../outside/secret', '../../x', 'a/../../outside/secret', '/etc/passwd']) {
        await expect(remote.get(n)).rejects.toThrow(/invalid object name/);
        await expect(remote.put(n, Buffer.from('x'))).rejects.toThrow(/invalid object name/);
        await expect(remote.delete(n)).rejects.toThrow(/invalid object name/);
      }
      await expect(remote.list('../')).rejects.toThrow(/invalid object name prefix/);
      expect(await fs.readdir(base)).toEqual(['outside', 'store']);
      expect(await fs.readFile(path.join(outside, 'secret'), 'utf8')).toBe('local secret');
    });

    it('a directory symlink leading outside is refused for every operation', async () => {
      await fs.symlink(outside, path.join(root, 'data'));
      expect(await codeOf(remote.get('data/secret'))).toBe('PATH_REJECTED');
      expect(await codeOf(remote.getRange('data/secret', 0, 1))).toBe('PATH_REJECTED');
      expect(await codeOf(remote.stat('data/secret'))).toBe('PATH_REJECTED');
      expect(await codeOf(remote.put('data/new', Buffer.from('x')))).toBe('PATH_REJECTED');
      expect(await codeOf(remote.put('data/sub/new', Buffer.from('x')))).toBe('PATH_REJECTED');
      expect(await codeOf(remote.put('data/secret', Buffer.from('x'), { createOnly: true }))).toBe('PATH_REJECTED');
      expect(await codeOf(remote.delete('data/secret'))).toBe('PATH_REJECTED');
      expect(await codeOf(remote.list('data/'))).toBe('PATH_REJECTED');
      // Listing the whole store does not follow the link either.
      expect(await remote.list('')).toEqual([]);
      expect(await fs.readdir(outside)).toEqual(['secret']);
      expect(await fs.readFile(path.join(outside, 'secret'), 'utf8')).toBe('local secret');
    });

    it('a file symlink leading outside is not read, and put replaces the link, not its target', async () => {
      await fs.symlink(path.join(outside, 'secret'), path.join(root, 'config'));
      expect(await codeOf(remote.get('config'))).toBe('PATH_REJECTED');
      await remote.put('config', Buffer.from('mine'));
      expect(await remote.get('config')).toEqual(Buffer.from('mine'));
      expect(await fs.readFile(path.join(outside, 'secret'), 'utf8')).toBe('local secret');
    });

    it('a symlinked root (e.g. ~/Dropbox → /mnt/…) is fine', async () => {
      const link = path.join(base, 'link-to-store');
      await fs.symlink(root, link);
      const viaLink = new FolderRemote(link);
      await viaLink.put('data/00/x', Buffer.from('x'));
      expect(await viaLink.list('')).toEqual([{ name: 'data/00/x', size: 1 }]);
      expect(await remote.get('data/00/x')).toEqual(Buffer.from('x'));
    });
  });

  describe('filesystems without hard links', () => {
    it('createOnly falls back to exclusive create and still has one winner', async () => {
      const link = vi.spyOn(fs, 'link').mockRejectedValue(Object.assign(new Error('EPERM: operation not permitted'), { code: 'EPERM' }));
      await remote.put('log/1', Buffer.from('first'), { createOnly: true });
      expect(await codeOf(remote.put('log/1', Buffer.from('second'), { createOnly: true }))).toBe('ALREADY_EXISTS');
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => remote.put('log/2', Buffer.from(`w${i}`), { createOnly: true })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(link).toHaveBeenCalled();
      expect(await remote.get('log/1')).toEqual(Buffer.from('first'));
      expect(await tree(path.join(root, 'log'))).toEqual(['1', '2']);
    });
  });

  describe('a full disk', () => {
    let mnt: string | undefined;

    afterEach(() => {
      if (mnt) execFileSync('umount', [mnt]);
      mnt = undefined;
    });

    it('is DISK_FULL and leaves no temp file', async (ctx) => {
      const dir = path.join(base, 'tiny');
      await fs.mkdir(dir);
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
        mnt = dir;
      } catch (e) {
        const reason = `cannot mount a 1 MiB tmpfs here (${String((e as Error).message).split('\n')[0]})`;
        console.warn(`skipping DISK_FULL test: ${reason}`);
        ctx.skip(reason);
        return;
      }
      const tiny = new FolderRemote(path.join(dir, 'store'));
      await tiny.create();
      await tiny.put('data/00/small', Buffer.alloc(1000, 1));
      const err = await tiny.put('data/00/big', Buffer.alloc(2 * 1024 * 1024, 2)).catch((e: unknown) => e);
      expect(isCcsError(err, 'DISK_FULL')).toBe(true);
      expect((err as Error).message).toMatch(/no space left/);
      expect(await tree(path.join(dir, 'store'))).toEqual(['data', 'data/00', 'data/00/small']);
      // Space was given back, so the store is still usable.
      await tiny.put('data/00/after', Buffer.alloc(1000, 3));
      expect(await tiny.get('data/00/small')).toEqual(Buffer.alloc(1000, 1));
    });
  });

  it('lists 10,000 objects reasonably fast and reads only matching directories', async () => {
    const names: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const h = i.toString(16).padStart(6, '0');
      names.push(`data/${h.slice(-2)}/${h}`);
    }
    // Written directly: this test is about list(), not about 10,000 fsyncs.
    for (const d of new Set(names.map((n) => path.dirname(n)))) await fs.mkdir(path.join(root, d), { recursive: true });
    await Promise.all(names.map((n) => fs.writeFile(path.join(root, n), 'x')));

    const t0 = performance.now();
    const all = await remote.list('data/');
    const ms = performance.now() - t0;
    expect(all).toHaveLength(10_000);
    expect(ms).toBeLessThan(10_000);

    const readdir = vi.spyOn(fs, 'readdir');
    const some = await remote.list('data/0');
    expect(some).toHaveLength(names.filter((n) => n.startsWith('data/0')).length);
    // The data/ directory plus data/00 … data/0f, not the other 240.
    expect(readdir).toHaveBeenCalledTimes(17);
  });
});
