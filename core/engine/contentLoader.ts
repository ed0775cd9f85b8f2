import { readFile } from 'node:fs/promises';
import { CcsError } from '../common/errors';
import type { ChunkReader } from './chunkReader';
import type { VersionRecord } from './format';
import type { DeviceSession } from './session';

/**
 * Loads the bytes of any version: from the working copy when this sync just hashed a file with
 * that content (its chunks may not be uploaded yet, e.g. in a dry run), otherwise from the vault.
 * Used for merges, previews, history and restore; callers bound the size they ask for.
 */
export class ContentLoader {
  constructor(
    private readonly s: DeviceSession,
    private readonly reader: ChunkReader,
    /** contentId → absolute path of a local file known to hold exactly that content. */
    private readonly local: Map<string, string> = new Map(),
  ) {}

  async load(v: VersionRecord): Promise<Buffer> {
    if (v.deleted) return Buffer.alloc(0);
    const path = this.local.get(v.contentId);
    if (path) {
      const data = await readFile(path).catch(() => null);
      if (data && data.length === v.size) return data;
    }
    const parts: Buffer[] = [];
    for (const id of v.chunks) {
      const chunk = this.s.db.getChunk(id);
      if (!chunk) throw new CcsError('OBJECT_MISSING', `chunk ${id.slice(0, 16)}… of ${v.path} (version ${v.id}) is not in any known pack`);
      parts.push(await this.reader.read(chunk));
    }
    return Buffer.concat(parts);
  }
}
