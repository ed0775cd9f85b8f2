import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CcsError } from '../common/errors';
import { FolderRemote } from './folder/FolderRemote';
import { MemoryRemote } from './memory/MemoryRemote';
import type { Remote } from './remote';
import { S3Remote } from './s3/S3Remote';
import { formatS3Url, parseS3Url, type S3Location } from './s3/s3Url';
import { WebDavRemote } from './webdav/WebDavRemote';
import { parseWebDavUrl } from './webdav/webdavUrl';
import { RetryingRemote } from './wrappers/RetryingRemote';

type ParsedRemoteUrl =
  | { kind: 'folder'; dir: string }
  | { kind: 'memory'; name: string }
  | { kind: 'webdav'; url: string; canonical: string }
  | { kind: 's3'; location: S3Location };

// Shared by every openRemote('mem://x') in the process, so two hosts in one test see one store.
const memoryRemotes = new Map<string, MemoryRemote>();

/**
 * Opens the remote a user-facing URL names: an absolute path or file:///… (a folder),
 * webdav+https://[user[:password]@]host/path (credentials may instead come from
 * CCSYNC_WEBDAV_USER / CCSYNC_WEBDAV_PASSWORD), or mem://name (a process-wide in-memory store,
 * for tests), or s3://bucket/prefix?endpoint=…&region=… (credentials from the AWS environment
 * variables / shared config). Network remotes come wrapped in RetryingRemote.
 */
export function openRemote(url: string, options: { env?: NodeJS.ProcessEnv } = {}): Remote {
  const parsed = parseRemoteUrl(url);
  if (parsed.kind === 'folder') return new FolderRemote(parsed.dir);
  if (parsed.kind === 'webdav') return new RetryingRemote(new WebDavRemote(parsed.url, options.env ? { env: options.env } : {}));
  if (parsed.kind === 's3') return new RetryingRemote(new S3Remote(parsed.location));
  let remote = memoryRemotes.get(parsed.name);
  if (!remote) {
    remote = new MemoryRemote(`mem://${parsed.name}`);
    memoryRemotes.set(parsed.name, remote);
  }
  return remote;
}

/**
 * The canonical form to store in config: the same store always yields the same string. It never
 * contains credentials (WebDAV ones then come from the environment or the keyring).
 */
export function describeRemoteUrl(url: string): string {
  const parsed = parseRemoteUrl(url);
  if (parsed.kind === 'folder') return parsed.dir;
  if (parsed.kind === 'webdav') return parsed.canonical;
  if (parsed.kind === 's3') return formatS3Url(parsed.location);
  return `mem://${parsed.name}`;
}

/** Test helper: drops every mem:// store so the next openRemote('mem://x') starts empty. */
export function forgetMemoryRemotes(): void {
  memoryRemotes.clear();
}

function parseRemoteUrl(url: string): ParsedRemoteUrl {
  if (url === '') throw new CcsError('USAGE', 'no remote given; use an absolute path or file:///…');
  // Checked before the scheme so that Windows paths such as C:\sync are not read as scheme "c".
  if (path.isAbsolute(url)) return { kind: 'folder', dir: path.resolve(url) };

  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new CcsError(
      'USAGE',
      `remote ${JSON.stringify(url)} is a relative path; use an absolute path (for example ${path.resolve(url)}) or file:///…`,
    );
  }
  if (scheme === 'file') {
    let dir: string;
    try {
      dir = fileURLToPath(url);
    } catch (e) {
      throw new CcsError(
        'USAGE',
        `invalid file URL ${JSON.stringify(redact(url))}: ${(e as Error).message}; use file:///absolute/path`,
        { cause: e },
      );
    }
    return { kind: 'folder', dir: path.resolve(dir) };
  }
  if (scheme === 'mem') {
    const name = /^mem:\/\/([a-z0-9._-]+)\/?$/i.exec(url)?.[1];
    if (name === undefined) {
      throw new CcsError('USAGE', `invalid memory remote URL ${JSON.stringify(url)}; use mem://name`);
    }
    return { kind: 'memory', name };
  }
  if (scheme === 'webdav+http' || scheme === 'webdav+https') {
    return { kind: 'webdav', url, canonical: parseWebDavUrl(url).description };
  }
  if (scheme === 's3') return { kind: 's3', location: parseS3Url(url) };
  throw new CcsError(
    'USAGE',
    `unsupported remote URL ${JSON.stringify(redact(url))}; use an absolute path, file:///…, webdav+https://host/path or s3://bucket/prefix?endpoint=…` +
      (scheme === 'http' || scheme === 'https' || scheme === 'dav' || scheme === 'davs'
        ? ` (for WebDAV write webdav+${scheme === 'dav' ? 'http' : scheme === 'davs' ? 'https' : scheme}://…)`
        : ''),
  );
}

/** Error messages end up in logs and screenshots, so credentials in a URL must not. */
function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@').replace(/[?#].*$/s, '?…');
}
