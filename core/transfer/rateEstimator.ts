/**
 * Bytes per second as an exponentially weighted moving average over time (not over samples), so
 * irregular updates weigh by how long they cover: a sample spanning dt gets weight
 * α = 1 − 2^(−dt / halfLife). Bias-corrected (divided by the total weight so far, as in Adam), so
 * the first estimate is the first sample instead of a ramp up from zero.
 */
export class RateEstimator {
  private weighted = 0;
  private weight = 0;
  private lastAt: number;
  private lastBytes: number;

  constructor(
    private readonly halfLifeMs: number,
    start: number,
    startBytes = 0,
    /** Gaps between updates up to this long are normal, not a stall. */
    private readonly stallAfterMs = 1000,
  ) {
    this.lastAt = start;
    this.lastBytes = startBytes;
  }

  /** Records that `totalBytes` were done by `now`. */
  observe(now: number, totalBytes: number): void {
    const dt = now - this.lastAt;
    if (dt <= 0) return; // the bytes count in the next sample
    this.mix(((totalBytes - this.lastBytes) / dt) * 1000, dt);
    this.lastAt = now;
    this.lastBytes = totalBytes;
  }

  /** Bytes that appear in (or leave) the total without having moved now: a resumed or failed transfer. */
  shift(deltaBytes: number): void {
    this.lastBytes += deltaBytes;
  }

  /** The smoothed rate at `now`; a transfer silent for longer than a stall decays towards 0. */
  bytesPerSecond(now: number): number {
    if (this.weight === 0) return 0;
    const silent = now - this.lastAt - this.stallAfterMs;
    if (silent <= 0) return this.weighted / this.weight;
    const keep = 2 ** (-silent / this.halfLifeMs);
    return (this.weighted * keep) / (this.weight * keep + (1 - keep));
  }

  private mix(sample: number, dt: number): void {
    const alpha = 1 - 2 ** (-dt / this.halfLifeMs);
    this.weighted = (1 - alpha) * this.weighted + alpha * sample;
    this.weight = (1 - alpha) * this.weight + alpha;
  }
}
