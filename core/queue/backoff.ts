import { CcsError } from '../common/errors';
import type { BackoffPolicy } from './types';

/**
 * Defaults sized for a laptop that goes offline: the 20th attempt comes after roughly an hour of
 * retrying (expected sum of the delays), so a short outage never fails an op, while a poison op
 * still ends as 'failed' instead of retrying forever.
 */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 10 * 60_000, maxAttempts: 20 };

export function backoffPolicy(overrides: Partial<BackoffPolicy> = {}): BackoffPolicy {
  const p = { ...DEFAULT_BACKOFF, ...overrides };
  if (!(p.baseMs > 0) || !(p.capMs >= p.baseMs) || !Number.isSafeInteger(p.maxAttempts) || p.maxAttempts < 1) {
    throw new CcsError('USAGE', `invalid backoff policy ${JSON.stringify(p)}: need baseMs > 0, capMs ≥ baseMs, maxAttempts ≥ 1`);
  }
  return p;
}

/**
 * "Full jitter" (AWS Architecture Blog, 2015): uniform in [0, min(cap, base·2^(attempt−1))).
 * Spreading retries over the whole window keeps devices that failed together (a server restart)
 * from retrying together, at the price of an occasional immediate retry.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const r = random();
  if (!(r >= 0 && r < 1)) throw new CcsError('INTERNAL', `backoff: random() must be in [0, 1), got ${r}`);
  return Math.floor(r * ceiling);
}
