import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/** One part the server confirmed (its UploadPart response), as recorded before moving on. */
export interface MultipartPart {
  partNumber: number;
  etag: string;
  size: number;
}

/** A multipart upload in progress: enough to resume it after a crash without re-sending parts. */
export interface MultipartState {
  uploadId: string;
  partSize: number;
  parts: MultipartPart[];
}

/**
 * Durable memory of multipart uploads in progress, keyed by an opaque string that names one
 * (object, content) pair: a key never resumes an upload of different bytes. The engine backs this
 * with its queue database; save() must be durable when it returns, because the upload trusts it
 * to skip parts after a crash.
 */
export interface MultipartStateStore {
  load(key: string): Promise<MultipartState | null>;
  save(key: string, state: MultipartState): Promise<void>;
  clear(key: string): Promise<void>;
}

const partSchema = z.object({
  partNumber: z.number().int().min(1).max(10_000),
  etag: z.string().min(1),
  size: z.number().int().min(0),
});
const stateSchema = z.object({
  uploadId: z.string().min(1),
  partSize: z.number().int().min(1),
  parts: z.array(partSchema),
});
const fileSchema = z.record(z.string(), stateSchema);

function copyState(s: MultipartState): MultipartState {
  return { uploadId: s.uploadId, partSize: s.partSize, parts: s.parts.map((p) => ({ ...p })) };
}

/** Survives retries within one process, not a crash; the default when nothing durable is given. */
export class MemoryMultipartStateStore implements MultipartStateStore {
  private readonly states = new Map<string, MultipartState>();

  async load(key: string): Promise<MultipartState | null> {
    const s = this.states.get(key);
    return s ? copyState(s) : null;
  }

  async save(key: string, state: MultipartState): Promise<void> {
    this.states.set(key, copyState(stateSchema.parse(state)));
  }

  async clear(key: string): Promise<void> {
    this.states.delete(key);
  }

  keys(): string[] {
    return [...this.states.keys()];
  }
}

/**
 * All states in one JSON file, rewritten atomically (temp file, fsync, rename) on every change.
 * Meant for tests and tools; concurrent use of one file by several instances is not supported.
 */
export class JsonFileMultipartStateStore implements MultipartStateStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  load(key: string): Promise<MultipartState | null> {
    return this.serially(async () => {
      const s = (await this.read())[key];
      return s ? copyState(s) : null;
    });
  }

  async save(key: string, state: MultipartState): Promise<void> {
    const valid = stateSchema.parse(state);
    await this.serially(async () => {
      const all = await this.read();
      all[key] = copyState(valid);
      await this.write(all);
    });
  }

  clear(key: string): Promise<void> {
    return this.serially(async () => {
      const all = await this.read();
      if (!(key in all)) return;
      delete all[key];
      await this.write(all);
    });
  }

  async keys(): Promise<string[]> {
    return this.serially(async () => Object.keys(await this.read()));
  }

  /** One read-modify-write at a time, so concurrent part confirmations do not lose each other. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async read(): Promise<Record<string, MultipartState>> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    const parsed = fileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`multipart state file ${this.file} is not valid: ${parsed.error.message}`);
    return parsed.data;
  }

  private async write(all: Record<string, MultipartState>): Promise<void> {
    const tmp = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${randomBytes(6).toString('hex')}~`);
    const fh = await fs.open(tmp, 'wx');
    try {
      await fh.writeFile(`${JSON.stringify(all, null, 1)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fs.rename(tmp, this.file);
    } catch (e) {
      await fs.unlink(tmp).catch(() => undefined);
      throw e;
    }
  }
}
