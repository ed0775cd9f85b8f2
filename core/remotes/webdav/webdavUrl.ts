import { CcsError } from '../../common/errors';

export interface WebDavTarget {
  /** The http(s) URL of the store's collection, ending in '/', without credentials. */
  base: URL;
  /** webdav+http(s)://host[:port]/path — canonical, never contains credentials. */
  description: string;
  user: string | undefined;
  password: string | undefined;
}

export const WEBDAV_USER_ENV = 'CCSYNC_WEBDAV_USER';
export const WEBDAV_PASSWORD_ENV = 'CCSYNC_WEBDAV_PASSWORD';

/**
 * Reads webdav+http://[user[:password]@]host[:port]/path (or webdav+https). Credentials missing
 * from the URL come from CCSYNC_WEBDAV_USER / CCSYNC_WEBDAV_PASSWORD, so that a config file or a
 * shell history need not hold the password.
 */
export function parseWebDavUrl(url: string, env: NodeJS.ProcessEnv = process.env): WebDavTarget {
  const m = /^webdav\+(https?):\/\//i.exec(url);
  if (!m) throw new CcsError('USAGE', `not a WebDAV URL: ${JSON.stringify(redactUrl(url))}; use webdav+https://host/path`);
  let parsed: URL;
  try {
    parsed = new URL(`${m[1]!.toLowerCase()}://${url.slice(m[0].length)}`);
  } catch {
    throw new CcsError('USAGE', `invalid WebDAV URL ${JSON.stringify(redactUrl(url))}; use webdav+https://host/path`);
  }
  if (parsed.search !== '' || parsed.hash !== '' || /[?#]/.test(url)) {
    throw new CcsError('USAGE', `WebDAV URL ${JSON.stringify(redactUrl(url))} has a query or fragment; give only the folder's address`);
  }
  if (parsed.hostname === '') throw new CcsError('USAGE', `WebDAV URL ${JSON.stringify(redactUrl(url))} has no host`);

  let user: string | undefined;
  let password: string | undefined;
  try {
    user = parsed.username === '' ? undefined : decodeURIComponent(parsed.username);
    password = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
  } catch {
    throw new CcsError('USAGE', `WebDAV URL ${JSON.stringify(redactUrl(url))}: the user name or password is not valid percent-encoding`);
  }
  if (user === undefined && password !== undefined) {
    throw new CcsError('USAGE', `WebDAV URL ${JSON.stringify(redactUrl(url))} has a password but no user name`);
  }
  user ??= env[WEBDAV_USER_ENV] || undefined;
  if (user !== undefined) password ??= env[WEBDAV_PASSWORD_ENV] ?? '';
  parsed.username = '';
  parsed.password = '';

  const path = parsed.pathname.replace(/\/+$/, '');
  const base = new URL(`${parsed.origin}${path}/`);
  return { base, description: `webdav+${parsed.origin}${path || '/'}`, user, password };
}

/** For messages about a URL that may hold credentials or tokens. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@').replace(/[?#].*$/s, '?…');
}
