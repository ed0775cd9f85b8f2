import fc from 'fast-check';

/**
 * One seed per test file: random by default so every run explores new inputs, FC_SEED=<n> to replay
 * a failure exactly. Printed on failure because vitest output is often all that survives from CI.
 */
export const FC_SEED = parseSeed(process.env['FC_SEED']);

function parseSeed(raw: string | undefined): number {
  if (raw === undefined || raw === '') return (Math.random() * 2 ** 32) | 0;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(raw)}`);
  return n | 0;
}

function report(e: unknown): never {
  console.error(`fast-check property failed; replay with FC_SEED=${FC_SEED}`);
  throw e;
}

export function fcAssert<Ts>(property: fc.IProperty<Ts>, numRuns?: number): void;
export function fcAssert<Ts>(property: fc.IAsyncProperty<Ts>, numRuns?: number): Promise<void>;
export function fcAssert<Ts>(property: fc.IRawProperty<Ts>, numRuns = 100): void | Promise<void> {
  try {
    const result = fc.assert(property, { seed: FC_SEED, numRuns });
    return result instanceof Promise ? result.catch(report) : result;
  } catch (e) {
    report(e);
  }
}
