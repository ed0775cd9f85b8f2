import { describe, expect, it } from 'vitest';
import { isCcsError } from '../../common/errors';
import { parseWebDavUrl } from './webdavUrl';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isCcsError(e, 'USAGE')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected a USAGE error');
}

describe('parseWebDavUrl', () => {
  it('splits off the credentials and gives a canonical description', () => {
    const t = parseWebDavUrl('webdav+https://al%40ice:p%3Ass%2Fw@DAV.Example.com:443/remote.php/dav/files/alice/ccjk/', {});
    expect(t.user).toBe('al@ice');
    expect(t.password).toBe('p:ss/w');
    expect(t.base.href).toBe('https://dav.example.com/remote.php/dav/files/alice/ccjk/');
    expect(t.description).toBe('webdav+https://dav.example.com/remote.php/dav/files/alice/ccjk');
  });

  it('keeps a non-default port, normalizes the path and percent-encoding', () => {
    const t = parseWebDavUrl('WEBDAV+HTTP://127.0.0.1:8080/a/./b/../My Store', {});
    expect(t.base.href).toBe('http://127.0.0.1:8080/a/My%20Store/');
    expect(t.description).toBe('webdav+http://127.0.0.1:8080/a/My%20Store');
    expect(parseWebDavUrl('webdav+http://h', {}).description).toBe('webdav+http://h/');
    expect(parseWebDavUrl('webdav+http://h/', {}).base.href).toBe('http://h/');
  });

  it('takes missing credentials from CCSYNC_WEBDAV_USER / CCSYNC_WEBDAV_PASSWORD', () => {
    const env = { CCSYNC_WEBDAV_USER: 'bob', CCSYNC_WEBDAV_PASSWORD: 's3cret' };
    expect(parseWebDavUrl('webdav+https://h/x', env)).toMatchObject({ user: 'bob', password: 's3cret' });
    expect(parseWebDavUrl('webdav+https://carol@h/x', env)).toMatchObject({ user: 'carol', password: 's3cret' });
    expect(parseWebDavUrl('webdav+https://carol:pw@h/x', env)).toMatchObject({ user: 'carol', password: 'pw' });
    expect(parseWebDavUrl('webdav+https://h/x', {})).toMatchObject({ user: undefined, password: undefined });
  });

  it('rejects queries, fragments, a password without a user and other schemes, without echoing secrets', () => {
    for (const url of ['webdav+https://u:hunter2@h/x?token=abc', 'webdav+https://u:hunter2@h/x#frag']) {
      const msg = usageMessage(() => parseWebDavUrl(url, {}));
      expect(msg).toMatch(/query or fragment/);
      expect(msg).not.toContain('hunter2');
      expect(msg).not.toContain('abc');
    }
    expect(usageMessage(() => parseWebDavUrl('webdav+https://:hunter2@h/x', {}))).not.toContain('hunter2');
    expect(usageMessage(() => parseWebDavUrl('https://h/x', {}))).toMatch(/not a WebDAV URL/);
    expect(usageMessage(() => parseWebDavUrl('webdav+https://u:p@/x', {}))).not.toContain('u:p');
  });
});
