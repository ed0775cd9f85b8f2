import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, backoffDelay, backoffPolicy } from './backoff';
import { seededRandom } from './queueFixture';

describe('backoffDelay', () => {
  const policy = { baseMs: 1000, capMs: 30_000, maxAttempts: 20 };

  it('stays inside [0, min(cap, base·2^(attempt−1))) for every draw (seeded)', () => {
    const random = seededRandom(42);
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(30_000, 1000 * 2 ** (attempt - 1));
      const delays = Array.from({ length: 500 }, () => backoffDelay(attempt, policy, random));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...delays)).toBeLessThan(ceiling);
      // Full jitter spreads over the whole window: the mean is near half the ceiling.
      const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
      expect(mean / ceiling).toBeGreaterThan(0.4);
      expect(mean / ceiling).toBeLessThan(0.6);
    }
  });

  it('doubles the ceiling per attempt up to the cap, even for huge attempt counts', () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 5, 6, 100, 5000].map((a) => backoffDelay(a, policy, top))).toEqual([999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
  });

  it('refuses a broken random source and a broken policy', () => {
    expect(() => backoffDelay(1, policy, () => 1)).toThrow(/random/);
    expect(() => backoffPolicy({ capMs: 10, baseMs: 100 })).toThrow(/capMs/);
    expect(() => backoffPolicy({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(backoffPolicy()).toEqual(DEFAULT_BACKOFF);
  });
});
