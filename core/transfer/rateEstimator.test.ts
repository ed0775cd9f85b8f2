import { describe, expect, it } from 'vitest';
import { RateEstimator } from './rateEstimator';

describe('RateEstimator', () => {
  it('reports the first sample as is (bias-corrected, no ramp from zero)', () => {
    const r = new RateEstimator(2000, 0);
    r.observe(500, 500_000);
    expect(r.bytesPerSecond(500)).toBeCloseTo(1_000_000, 6);
  });

  it('weighs samples by the time they cover: α = 1 − 2^(−dt/halfLife)', () => {
    const r = new RateEstimator(1000, 0);
    r.observe(1000, 1000); // 1,000 B/s for one half-life
    r.observe(2000, 4000); // 3,000 B/s for one half-life
    // s = 0.5·(0.5·1000) + 0.5·3000 = 1750; w = 0.5·0.5 + 0.5 = 0.75 → 2333.3
    expect(r.bytesPerSecond(2000)).toBeCloseTo(1750 / 0.75, 6);
  });

  it('converges to a steady rate regardless of the update interval', () => {
    for (const step of [10, 100, 700]) {
      const r = new RateEstimator(3000, 0);
      let bytes = 0;
      for (let t = step; t <= 30_000; t += step) r.observe(t, (bytes += step * 250)); // 250 KB/s
      expect(r.bytesPerSecond(30_000)).toBeCloseTo(250_000, 0);
    }
  });

  it('follows a change of speed with the configured half-life', () => {
    const r = new RateEstimator(1000, 0);
    let bytes = 0;
    for (let t = 100; t <= 20_000; t += 100) r.observe(t, (bytes += 100_000)); // 1 MB/s
    for (let t = 20_100; t <= 21_000; t += 100) r.observe(t, (bytes += 10_000)); // 100 kB/s for one half-life
    expect(r.bytesPerSecond(21_000)).toBeCloseTo(550_000, -3); // halfway between
  });

  it('ignores zero-length intervals and decays towards zero when a transfer stalls', () => {
    const r = new RateEstimator(1000, 0);
    r.observe(1000, 1_000_000);
    r.observe(1000, 2_000_000); // same instant: counted in the next sample
    r.observe(2000, 2_000_000);
    expect(r.bytesPerSecond(2000)).toBeCloseTo(1_000_000, 6); // 2 MB over the 2 s, not a 1 MB spike
    expect(r.bytesPerSecond(2500)).toBe(r.bytesPerSecond(2000)); // normal gap between updates
    expect(r.bytesPerSecond(3000 + 1000)).toBeLessThan(r.bytesPerSecond(2000) / 1.9); // one half-life into the stall
    expect(r.bytesPerSecond(60_000)).toBeLessThan(1);
  });
});
