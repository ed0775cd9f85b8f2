import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isCcsError } from '../common/errors';
import { FolderRemote } from './folder/FolderRemote';
import { MemoryRemote } from './memory/MemoryRemote';
import { describeRemoteUrl, forgetMemoryRemotes, openRemote } from './url';
import { S3Remote } from './s3/S3Remote';
import { WebDavRemote } from './webdav/WebDavRemote';
import { RetryingRemote } from './wrappers/RetryingRemote';

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

  it('opens webdav+http(s):// URLs as a retrying WebDAV remote, described without credentials', () => {
    const r = openRemote('webdav+https://alice:hunter2@dav.example.com/remote.php/dav/files/alice/ccjk/');
    expect(r).toBeInstanceOf(RetryingRemote);
    expect((r as RetryingRemote).inner).toBeInstanceOf(WebDavRemote);
    expect(r.description).toBe('webdav+https://dav.example.com/remote.php/dav/files/alice/ccjk');
    expect(openRemote('webdav+http://127.0.0.1:8080/dav').description).toBe('webdav+http://127.0.0.1:8080/dav');
  });

  it('opens s3:// as an S3Remote behind the retry wrapper, with a canonical description', () => {
    const r = openRemote('s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1');
    expect(r).toBeInstanceOf(RetryingRemote);
    expect((r as RetryingRemote).inner).toBeInstanceOf(S3Remote);
    expect(describeRemoteUrl('s3://bucket/prefix?region=us-east-1&endpoint=http://127.0.0.1:9000')).toBe(describeRemoteUrl('s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1'));
    usageError(() => openRemote('s3://AKIA:secret@bucket/prefix'));
  });

  it('rejects anything else, naming what is supported', () => {
    for (const url of ['https://example.com', 'sftp://h/x', 'ftp:x', 'davs://h/x']) {
      const err = usageError(() => openRemote(url));
      expect(err.message).toMatch(/^unsupported remote URL/);
      expect(err.message).toContain('use an absolute path, file:///…, webdav+https://host/path or s3://bucket/prefix?endpoint=…');
    }
    expect(usageError(() => openRemote('https://example.com/dav')).message).toContain('write webdav+https://');
  });

  it('keeps credentials out of error messages', () => {
    for (const url of ['webdav+https://alice:hunter2@dav.example.com/x?token=abc', 'sftp://alice:hunter2@dav.example.com/x?token=abc']) {
      const err = usageError(() => openRemote(url));
      expect(err.message).not.toContain('hunter2');
      expect(err.message).not.toContain('alice');
      expect(err.message).not.toContain('abc');
      expect(err.message).toContain('dav.example.com');
    }
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
    expect(describeRemoteUrl('webdav+https://alice:hunter2@DAV.example.com:443/a/b/')).toBe('webdav+https://dav.example.com/a/b');
    expect(describeRemoteUrl('webdav+http://dav.example.com:8080/a%20b')).toBe('webdav+http://dav.example.com:8080/a%20b');
  });

  it('rejects what openRemote rejects', () => {
    usageError(() => describeRemoteUrl('relative'));
    usageError(() => describeRemoteUrl('s3://b?bogus=1'));
  });
});
