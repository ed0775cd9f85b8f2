import { CcsError } from '../common/errors';

export type TransferState = 'running' | 'paused' | 'cancelled';

/** The abort reason of `haltSignal` on a pause (a cancel aborts it with the CANCELLED error). */
const PAUSED: unique symbol = Symbol('paused');

/**
 * Pause, resume and cancel for every transfer of one operation (a sync): each transfer calls
 * `checkpoint()` before its next slice, so a pause takes effect within one slice and a cancel
 * rejects every waiting and later slice with CcsError('CANCELLED').
 *
 * - `signal` aborts once, on cancel (its reason is the CANCELLED error).
 * - `haltSignal` aborts on the next pause or cancel: a wait for bandwidth given this signal
 *   leaves the line at once instead of being granted while paused. A fresh one starts on resume.
 *
 * Cancelling is final; pausing a cancelled control does nothing.
 */
export class TransferControl {
  private current: TransferState = 'running';
  private cancelError: CcsError | null = null;
  private readonly cancelController = new AbortController();
  private haltController = new AbortController();
  private resumed: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;
  private readonly listeners = new Set<(state: TransferState) => void>();

  get state(): TransferState {
    return this.current;
  }

  get paused(): boolean {
    return this.current === 'paused';
  }

  get cancelled(): boolean {
    return this.current === 'cancelled';
  }

  /** Aborts on cancel; its reason is the CANCELLED error. */
  get signal(): AbortSignal {
    return this.cancelController.signal;
  }

  /** Aborts on the next pause or cancel. Read it again after a resume: it is replaced. */
  get haltSignal(): AbortSignal {
    return this.haltController.signal;
  }

  /** The CANCELLED error once cancelled, else null. */
  get reason(): CcsError | null {
    return this.cancelError;
  }

  pause(): void {
    if (this.current !== 'running') return;
    this.current = 'paused';
    this.haltController.abort(PAUSED);
    this.notify();
  }

  resume(): void {
    if (this.current !== 'paused') return;
    this.current = 'running';
    this.haltController = new AbortController();
    const r = this.resumed;
    this.resumed = null;
    r?.resolve();
    this.notify();
  }

  /** Final: waiting and later slices reject with CcsError('CANCELLED', reason). */
  cancel(reason = 'cancelled'): void {
    if (this.current === 'cancelled') return;
    this.current = 'cancelled';
    const err = new CcsError('CANCELLED', reason);
    this.cancelError = err;
    this.cancelController.abort(err);
    this.haltController.abort(err);
    const r = this.resumed;
    this.resumed = null;
    r?.reject(err);
    this.notify();
  }

  throwIfCancelled(): void {
    if (this.cancelError) throw this.cancelError;
  }

  /** Resolves at once while running, waits while paused, rejects with CANCELLED once cancelled. */
  checkpoint(): Promise<void> {
    if (this.current === 'running') return Promise.resolve();
    if (this.cancelError) return Promise.reject(this.cancelError);
    if (!this.resumed) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {}); // rejected only on cancel, and only seen by those who wait
      this.resumed = { promise, resolve, reject };
    }
    return this.resumed.promise;
  }

  /** True when `reason` is what `haltSignal` aborted with on a pause (not a failure). */
  static isPause(reason: unknown): boolean {
    return reason === PAUSED;
  }

  /** Called on every state change; returns the unsubscribe function. */
  onChange(listener: (state: TransferState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const l of [...this.listeners]) l(this.current);
  }
}
