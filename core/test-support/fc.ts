/**
 * Seeded fast-check runs. Without FC_SEED every run draws a fresh seed, so CI keeps exploring new
 * cases; when one fails, the printed seed replays it exactly: FC_SEED=<seed> npx vitest run <file>.
 */
import fc from 'fast-check';

export function fcSeed(): number {
  const fromEnv = process.env.FC_SEED;
  if (fromEnv !== undefined && fromEnv !== '') {
    const seed = Number(fromEnv);
    if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(fromEnv)}`);
    return seed;
  }
  return (Math.random() * 0x1_0000_0000) | 0;
}

export async function assertProperty<Ts>(property: fc.IRawProperty<Ts>, numRuns: number): Promise<void> {
  const seed = fcSeed();
  try {
    await fc.assert(property, { seed, numRuns });
  } catch (e) {
    console.error(`fast-check property failed with seed ${seed}; replay with FC_SEED=${seed}`);
    throw e;
  }
}
