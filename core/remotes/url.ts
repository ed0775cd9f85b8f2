import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CcsError } from '../common/errors';
import { FolderRemote } from './folder/FolderRemote';
import { MemoryRemote } from './memory/MemoryRemote';
import type { Remote } from './remote';

type ParsedRemoteUrl = { kind: 'folder'; dir: string } | { kind: 'memory'; name: string };

// Shared by every openRemote('mem://x') in the process, so two hosts in one test see one store.
const memoryRemotes = new Map<string, MemoryRemote>();

/**
 * Opens the remote a user-facing URL names: an absolute path or file:///… (a folder), or
 * mem://name (a process-wide in-memory store, for tests).
 */
export function openRemote(url: string): Remote {
  const parsed = parseRemoteUrl(url);
  if (parsed.kind === 'folder') return new FolderRemote(parsed.dir);
  let remote = memoryRemotes.get(parsed.name);
  if (!remote) {
    remote = new MemoryRemote(`mem://${parsed.name}`);
    memoryRemotes.set(parsed.name, remote);
  }
  return remote;
}

/** The canonical form to store in config: the same store always yields the same string. */
export function describeRemoteUrl(url: string): string {
  const parsed = parseRemoteUrl(url);
  return parsed.kind === 'folder' ? parsed.dir : `mem://${parsed.name}`;
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
  throw new CcsError(
    'USAGE',
    `unsupported remote URL ${JSON.stringify(redact(url))}; use an absolute path or file:///… ` +
      '(webdav+https:// and s3:// are not supported yet)',
  );
}

/** Error messages end up in logs and screenshots, so credentials in a URL must not. */
function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@').replace(/[?#].*$/s, '?…');
}
