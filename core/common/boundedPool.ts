/**
 * Runs async tasks with at most `limit` in flight; `run` waits only when the pool is full.
 * The first failure is remembered and rethrown by the next `run` or by `drain`.
 */
export class BoundedPool {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  constructor(private readonly limit: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    this.rethrow();
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    this.rethrow();
    const p: Promise<void> = task().then(
      () => {
        this.inFlight.delete(p);
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.inFlight.delete(p);
      },
    );
    this.inFlight.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    this.rethrow();
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }
}
