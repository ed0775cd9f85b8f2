import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isCcsError } from '../common/errors';
import { FolderRemote } from './folder/FolderRemote';
import { MemoryRemote } from './memory/MemoryRemote';
import { describeRemoteUrl, forgetMemoryRemotes, openRemote } from './url';

function usageError(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(isCcsError(e, 'USAGE')).toBe(true);
    return e as Error;
  }
  throw new Error('expected a USAGE error');
}

describe('openRemote', () => {
  afterEach(() => forgetMemoryRemotes());

  it('opens an absolute path as a folder remote', () => {
    const r = openRemote('/srv/sync/ccjk');
    expect(r).toBeInstanceOf(FolderRemote);
    expect(r.description).toBe('/srv/sync/ccjk');
  });

  it('normalizes the path', () => {
    expect(openRemote('/srv/sync/../sync/ccjk/').description).toBe('/srv/sync/ccjk');
  });

  it('opens file:/// URLs, percent-decoded', () => {
    const r = openRemote('file:///mnt/My%20Drive/ccjk');
    expect(r).toBeInstanceOf(FolderRemote);
    expect(r.description).toBe('/mnt/My Drive/ccjk');
    expect(openRemote(pathToFileURL('/tmp/a b#c').href).description).toBe('/tmp/a b#c');
    expect(openRemote('file://localhost/x/y').description).toBe('/x/y');
  });

  it('rejects file URLs with a host', () => {
    expect(usageError(() => openRemote('file://server/share')).message).toMatch(/file:\/\/\/absolute\/path/);
  });

  it('rejects relative paths and says to use an absolute path', () => {
    for (const rel of ['sync', './sync', '../sync', '~/Dropbox/ccjk']) {
      const err = usageError(() => openRemote(rel));
      expect(err.message).toMatch(/relative path; use an absolute path/);
      expect(err.message).toContain(path.resolve(rel));
    }
  });

  it('rejects an empty URL', () => {
    expect(usageError(() => openRemote('')).message).toMatch(/absolute path/);
  });

  it('rejects WebDAV, S3 and anything else, saying they are not supported yet', () => {
    for (const url of ['webdav+https://dav.example.com/x', 's3://bucket/prefix', 'https://example.com', 'sftp://h/x', 'ftp:x']) {
      const err = usageError(() => openRemote(url));
      expect(err.message).toMatch(/^unsupported remote URL/);
      expect(err.message).toContain('use an absolute path or file:///');
      expect(err.message).toContain('webdav+https:// and s3:// are not supported yet');
    }
  });

  it('keeps credentials out of error messages', () => {
    const err = usageError(() => openRemote('webdav+https://alice:hunter2@dav.example.com/x?token=abc'));
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain('alice');
    expect(err.message).not.toContain('abc');
    expect(err.message).toContain('dav.example.com');
  });

  it('mem://name is one process-wide store per name', async () => {
    const a = openRemote('mem://shared');
    expect(a).toBeInstanceOf(MemoryRemote);
    expect(a.description).toBe('mem://shared');
    await a.put('config', Buffer.from('x'));
    expect(await openRemote('mem://shared').get('config')).toEqual(Buffer.from('x'));
    expect(await openRemote('mem://other').list('')).toEqual([]);
    forgetMemoryRemotes();
    expect(await openRemote('mem://shared').list('')).toEqual([]);
  });

  it('rejects mem:// without a name', () => {
    expect(usageError(() => openRemote('mem://')).message).toMatch(/mem:\/\/name/);
    expect(usageError(() => openRemote('mem://a/b')).message).toMatch(/mem:\/\/name/);
  });
});

describe('describeRemoteUrl', () => {
  it('gives the canonical form stored in config', () => {
    expect(describeRemoteUrl('/srv/x/')).toBe('/srv/x');
    expect(describeRemoteUrl('/srv/./y/../x')).toBe('/srv/x');
    expect(describeRemoteUrl('file:///srv/x')).toBe('/srv/x');
    expect(describeRemoteUrl('file:///srv/with%20space')).toBe('/srv/with space');
    expect(describeRemoteUrl('mem://t1')).toBe('mem://t1');
  });

  it('rejects what openRemote rejects', () => {
    usageError(() => describeRemoteUrl('relative'));
    usageError(() => describeRemoteUrl('s3://b'));
  });
});
