import { isCcsError, type CcsError } from '../../common/errors';
import type { ObjectInfo, PutOptions, Remote } from '../remote';
import type { ConditionalWrites } from '../selfTest';
import { isTransient, mayHaveBeenApplied, transientError } from './transient';

export interface RetryOptions {
  /** Attempts in total, the first included. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** No retry starts later than this after the first attempt. */
  maxElapsedMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** In [0, 1); the jitter source. */
  random?: () => number;
  onRetry?: (info: { op: string; attempt: number; delayMs: number; error: CcsError }) => void;
}

/**
 * Retries the calls of any remote that failed for a transient reason (see isTransient: resets,
 * timeouts, 5xx), with exponential backoff and jitter so that clients knocked off together do not
 * come back together. Everything else fails at once: authentication, a missing store or object,
 * ALREADY_EXISTS, OBJECT_CORRUPT, invalid names. Every operation may be repeated: put replaces,
 * delete of a missing object succeeds.
 *
 * The exception is createOnly put after a lost response (an attempt that may have been applied):
 * the retry then finds the object already there. If the stored bytes equal the ones being written,
 * the put counts as done. The price: when an object with identical bytes existed before (or a
 * concurrent writer stored identical bytes), this caller is told it created it. For the engine's
 * createOnly objects, whose bytes are what matters, that is the same outcome.
 */
export class RetryingRemote implements Remote {
  readonly description: string;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxElapsedMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly onRetry: RetryOptions['onRetry'];

  constructor(
    readonly inner: Remote,
    options: RetryOptions = {},
  ) {
    this.description = inner.description;
    this.attempts = Math.max(1, options.attempts ?? 5);
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 8000;
    this.maxElapsedMs = options.maxElapsedMs ?? 60_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
  }

  check(): Promise<void> {
    return this.run('check', () => this.inner.check());
  }

  create(): Promise<void> {
    return this.run('create', () => this.inner.create());
  }

  async put(name: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    if (!options?.createOnly) return this.run(`put ${name}`, () => this.inner.put(name, data, options));
    let ambiguous = false;
    try {
      await this.run(
        `put ${name}`,
        () => this.inner.put(name, data, options),
        (e) => {
          if (mayHaveBeenApplied(e)) ambiguous = true;
        },
      );
    } catch (e) {
      if (!ambiguous || !isCcsError(e, 'ALREADY_EXISTS')) throw e;
      let stored: Buffer;
      try {
        stored = await this.run(`get ${name}`, () => this.inner.get(name));
      } catch (getError) {
        throw isCcsError(getError, 'OBJECT_MISSING') ? e : getError;
      }
      if (!stored.equals(data)) throw e;
    }
  }

  get(name: string): Promise<Buffer> {
    return this.run(`get ${name}`, () => this.inner.get(name));
  }

  getRange(name: string, offset: number, length: number): Promise<Buffer> {
    return this.run(`get ${name}`, () => this.inner.getRange(name, offset, length));
  }

  stat(name: string): Promise<ObjectInfo | null> {
    return this.run(`stat ${name}`, () => this.inner.stat(name));
  }

  list(prefix: string): Promise<ObjectInfo[]> {
    return this.run(`list ${prefix}`, () => this.inner.list(prefix));
  }

  delete(name: string): Promise<void> {
    return this.run(`delete ${name}`, () => this.inner.delete(name));
  }

  /** Forwards the inner remote's answer (see selfTest), if it has one. */
  async conditionalWrites(): Promise<ConditionalWrites | undefined> {
    const inner = this.inner as Partial<{ conditionalWrites(): Promise<ConditionalWrites | undefined> }>;
    if (typeof inner.conditionalWrites !== 'function') return undefined;
    return this.run('probe conditional writes', () => inner.conditionalWrites!.call(this.inner));
  }

  private async run<T>(op: string, fn: () => Promise<T>, onTransient?: (e: CcsError) => void): Promise<T> {
    const start = this.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!isTransient(e)) throw e;
        const err = e as CcsError;
        onTransient?.(err);
        const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        // "Equal jitter": never less than half the backoff, so a burst of failures still spreads out.
        const delayMs = Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
        if (attempt >= this.attempts || this.now() - start + delayMs > this.maxElapsedMs) {
          throw transientError(`${err.message} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'})`, {
            cause: err,
            maybeApplied: mayHaveBeenApplied(err),
          });
        }
        this.onRetry?.({ op, attempt, delayMs, error: err });
        await this.sleep(delayMs);
      }
    }
  }
}
