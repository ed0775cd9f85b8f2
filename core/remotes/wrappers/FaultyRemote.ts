import { CcsError } from '../../common/errors';
import { assertListPrefix } from '../prefix';
import { assertObjectName, type ObjectInfo, type PutOptions, type Remote } from '../remote';
import { transientError } from './transient';
import { mulberry32 } from '../../common/prng';

/**
 * - fail: the request never reaches the store (transient, nothing happened).
 * - lostResponse: a put or delete takes effect, then its answer is lost (transient).
 * - dropMidBody: the connection drops in the middle of a body: an upload is not stored (PUT is
 *   atomic), a download fails after part of it arrived (transient).
 * - truncate: a download ends early; reported as a correct transport reports it (transient).
 * - stall: the call is delayed (up to stallMs), then proceeds normally.
 * - staleList: list omits objects written in the last staleMs (eventually consistent listings).
 * - bitFlip: after a put, one bit of the stored object is flipped at rest. The only fault that
 *   returns wrong bytes without an error: detecting it is the engine's job (content hashes).
 */
export type FaultMode = 'fail' | 'lostResponse' | 'dropMidBody' | 'truncate' | 'stall' | 'staleList' | 'bitFlip';

export const FAULT_MODES: readonly FaultMode[] = ['fail', 'lostResponse', 'dropMidBody', 'truncate', 'stall', 'staleList', 'bitFlip'];

export interface FaultOptions {
  seed: number;
  /** Per call, the chance of each fault where it applies. */
  probability: Partial<Record<FaultMode, number>>;
  stallMs?: number;
  staleMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * For tests: a remote that misbehaves like a network store on a bad day, reproducibly (seeded),
 * and counts every fault it injected so a test can assert that each one was survived or caught.
 */
export class FaultyRemote implements Remote {
  readonly description: string;
  readonly injected: Record<FaultMode, number> = {
    fail: 0,
    lostResponse: 0,
    dropMidBody: 0,
    truncate: 0,
    stall: 0,
    staleList: 0,
    bitFlip: 0,
  };
  /** Names whose stored bytes were flipped and not rewritten since. */
  readonly flipped = new Set<string>();
  /** Switch faults off, e.g. to inspect the store at the end of a test. */
  enabled = true;
  private readonly random: () => number;
  private readonly probability: Partial<Record<FaultMode, number>>;
  private readonly stallMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly written = new Map<string, number>();

  constructor(
    readonly inner: Remote,
    options: FaultOptions,
  ) {
    this.description = inner.description;
    this.random = mulberry32(options.seed);
    this.probability = options.probability;
    this.stallMs = options.stallMs ?? 50;
    this.staleMs = options.staleMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async check(): Promise<void> {
    await this.before('check');
    await this.inner.check();
  }

  async create(): Promise<void> {
    await this.before('create');
    await this.inner.create();
  }

  async put(name: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    assertObjectName(name);
    await this.before(`put ${name}`);
    if (this.roll('dropMidBody')) {
      const sent = Math.floor(this.random() * data.length);
      throw this.fault(`put ${name}: connection dropped after ${sent} of ${data.length} bytes of the upload`, false);
    }
    await this.inner.put(name, data, options);
    this.written.set(name, this.now());
    this.flipped.delete(name);
    if (this.roll('bitFlip') && !(await this.flipAtRest(name))) this.injected.bitFlip--;
    if (this.roll('lostResponse')) throw this.fault(`put ${name}: the connection was lost before the answer`, true);
  }

  async get(name: string): Promise<Buffer> {
    assertObjectName(name);
    await this.before(`get ${name}`);
    return this.download(`get ${name}`, await this.inner.get(name));
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertObjectName(name);
    await this.before(`get ${name}`);
    return this.download(`get ${name}`, await this.inner.getRange(name, offset, length));
  }

  async stat(name: string): Promise<ObjectInfo | null> {
    assertObjectName(name);
    await this.before(`stat ${name}`);
    return this.inner.stat(name);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertListPrefix(prefix);
    await this.before(`list ${prefix}`);
    let listed = await this.inner.list(prefix);
    if (this.roll('staleList')) {
      const now = this.now();
      listed = listed.filter((o) => now - (this.written.get(o.name) ?? -Infinity) >= this.staleMs);
    }
    if (this.roll('dropMidBody')) throw this.fault(`list ${prefix}: connection dropped in the middle of the listing`, true);
    return listed;
  }

  async delete(name: string): Promise<void> {
    assertObjectName(name);
    await this.before(`delete ${name}`);
    await this.inner.delete(name);
    this.written.delete(name);
    this.flipped.delete(name);
    if (this.roll('lostResponse')) throw this.fault(`delete ${name}: the connection was lost before the answer`, true);
  }

  private async before(op: string): Promise<void> {
    if (this.roll('stall')) await this.sleep(Math.floor(this.random() * this.stallMs));
    if (this.roll('fail')) throw this.fault(`${op}: connection reset before the request was sent`, false);
  }

  private download(op: string, data: Buffer): Buffer {
    if (data.length > 0 && this.roll('dropMidBody')) {
      throw this.fault(`${op}: connection dropped after ${Math.floor(this.random() * data.length)} of ${data.length} bytes`, true);
    }
    if (data.length > 0 && this.roll('truncate')) {
      throw this.fault(`${op}: the response ended after ${Math.floor(this.random() * data.length)} of ${data.length} bytes`, true);
    }
    return data;
  }

  private async flipAtRest(name: string): Promise<boolean> {
    const stored = await this.inner.get(name);
    if (stored.length === 0) return false;
    const bit = Math.floor(this.random() * stored.length * 8);
    stored[bit >> 3]! ^= 1 << (bit & 7);
    await this.inner.put(name, stored);
    this.flipped.add(name);
    return true;
  }

  private roll(mode: FaultMode): boolean {
    const p = this.enabled ? (this.probability[mode] ?? 0) : 0;
    if (p <= 0 || this.random() >= p) return false;
    this.injected[mode]++;
    return true;
  }

  private fault(message: string, maybeApplied: boolean): CcsError {
    return transientError(`${this.description}: ${message} (injected fault)`, { maybeApplied });
  }
}

export { mulberry32 };
