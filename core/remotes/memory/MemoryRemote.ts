import { CcsError } from '../../common/errors';
import { assertListPrefix } from '../prefix';
import { assertObjectName, type ObjectInfo, type PutOptions, type Remote } from '../remote';

/**
 * An in-process remote for tests, with the same semantics as the folder remote. Data is copied on
 * the way in and out so a test can never pass by sharing a buffer with the "storage".
 *
 * Test switches: `offline` makes every call fail with REMOTE_UNREACHABLE (a dropped network),
 * `exists = false` makes every call fail with REMOTE_NOT_FOUND (an unmounted drive) until
 * create() is called.
 */
export class MemoryRemote implements Remote {
  readonly description: string;
  offline = false;
  exists: boolean;
  private readonly objects = new Map<string, Buffer>();

  constructor(description = 'mem://memory', options?: { exists?: boolean }) {
    this.description = description;
    this.exists = options?.exists ?? true;
  }

  async check(): Promise<void> {
    this.assertUsable();
  }

  async create(): Promise<void> {
    this.assertReachable();
    this.exists = true;
  }

  async put(name: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    assertObjectName(name);
    this.assertUsable();
    if (options?.createOnly && this.objects.has(name)) {
      throw new CcsError('ALREADY_EXISTS', `${this.description}: object ${name} already exists`);
    }
    this.objects.set(name, Buffer.from(data));
  }

  async get(name: string): Promise<Buffer> {
    assertObjectName(name);
    this.assertUsable();
    return Buffer.from(this.mustGet(name));
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertObjectName(name);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`invalid range: offset ${offset}, length ${length}`);
    }
    this.assertUsable();
    const data = this.mustGet(name);
    if (offset + length > data.length) {
      throw new CcsError(
        'OBJECT_CORRUPT',
        `${this.description}: short read of object ${name}: wanted bytes ${offset}..${offset + length} but it ends at ${data.length} (truncated?)`,
      );
    }
    return Buffer.from(data.subarray(offset, offset + length));
  }

  async stat(name: string): Promise<ObjectInfo | null> {
    assertObjectName(name);
    this.assertUsable();
    const data = this.objects.get(name);
    return data ? { name, size: data.length } : null;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertListPrefix(prefix);
    this.assertUsable();
    const out: ObjectInfo[] = [];
    for (const [name, data] of this.objects) {
      if (name.startsWith(prefix)) out.push({ name, size: data.length });
    }
    return out;
  }

  async delete(name: string): Promise<void> {
    assertObjectName(name);
    this.assertUsable();
    this.objects.delete(name);
  }

  /** Test helper: replaces the stored bytes of an existing object with `mutate(copy)`. */
  corrupt(name: string, mutate: (b: Buffer) => Buffer): void {
    const data = this.objects.get(name);
    if (!data) throw new Error(`MemoryRemote.corrupt: no object ${name}`);
    this.objects.set(name, Buffer.from(mutate(Buffer.from(data))));
  }

  /** Test helper: every stored name, sorted. */
  names(): string[] {
    return [...this.objects.keys()].sort();
  }

  private mustGet(name: string): Buffer {
    const data = this.objects.get(name);
    if (!data) throw new CcsError('OBJECT_MISSING', `${this.description}: object ${name} is missing`);
    return data;
  }

  private assertReachable(): void {
    if (this.offline) throw new CcsError('REMOTE_UNREACHABLE', `${this.description} is offline`);
  }

  private assertUsable(): void {
    this.assertReachable();
    if (!this.exists) throw new CcsError('REMOTE_NOT_FOUND', `${this.description} does not exist`);
  }
}
