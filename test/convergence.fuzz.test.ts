import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { makeTemplate, runConvergence, type Template } from '../core/test-support/convergenceFuzz';
import { tempDir } from '../core/test-support/vaultHarness';

// Iterations: CCSYNC_FUZZ_RUNS (default 200, as in CI); `npm run test:soak` sets CCSYNC_SOAK=1
// for 10,000. Replay one failing run: CCSYNC_FUZZ_SEED=<seed> (add CCSYNC_FUZZ_TRACE=1 to see every step).
const runs = Number(process.env.CCSYNC_FUZZ_RUNS ?? (process.env.CCSYNC_SOAK ? 10_000 : 200));
const base = Number(process.env.CCSYNC_FUZZ_SEED ?? Math.floor(Math.random() * 1e9));

describe('randomized multi-device convergence', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let template: Template;
  beforeAll(async () => {
    dir = await tempDir('ccsync-fuzz-');
    template = await makeTemplate(join(dir.path, 'template'), 5);
  });
  afterAll(() => dir.cleanup());

  it(`${process.env.CCSYNC_FUZZ_SEED ? 1 : runs} runs from seed ${base}`, { timeout: 3_600_000 }, async () => {
    const count = process.env.CCSYNC_FUZZ_SEED ? 1 : runs;
    for (let k = 0; k < count; k++) await runConvergence(template, join(dir.path, 'run'), base + k);
    console.log(`convergence: ${count} runs passed (seeds ${base}..${base + count - 1})`);
  });
});
