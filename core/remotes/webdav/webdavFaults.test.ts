import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApacheDav, type ApacheDav } from '../../test-support/apache';
import { faultyFetch, type FaultyFetch, type FetchFault } from '../../test-support/faultyFetch';
import { remoteConformance } from '../../test-support/remoteConformance';
import { RetryingRemote } from '../wrappers/RetryingRemote';
import { WebDavRemote } from './WebDavRemote';

// Resets, 503s, lost answers, truncated bodies and stalls below WebDavRemote must be detected by
// it and survived by RetryingRemote: the whole conformance suite passes through them.
let dav: ApacheDav;
beforeAll(async () => {
  dav = await startApacheDav();
});
afterAll(async () => {
  await dav?.stop();
});

const fetches: FaultyFetch[] = [];
// Per request: about 4% fail (reset, 503, lost answer, short body), 1% are stalled.
const p = 0.01;

remoteConformance('webdav (apache) + transport faults + retry', async () => {
  const sub = `t-${randomBytes(6).toString('hex')}`;
  const f = faultyFetch({
    seed: fetches.length + 1,
    probability: { reset: p, serverError: p, lostResponse: p, truncateBody: p, stall: p },
    stallMs: 5,
  });
  fetches.push(f);
  const remote = new RetryingRemote(new WebDavRemote(`${dav.url}/${sub}`, { fetch: f }), {
    attempts: 30,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 2))),
  });
  await remote.create();
  return { remote, cleanup: () => fs.rm(path.join(dav.root, sub), { recursive: true, force: true }) };
});

describe('transport faults', () => {
  it('were all injected during the run above', () => {
    const total = (fault: FetchFault) => fetches.reduce((n, f) => n + f.injected[fault], 0);
    for (const fault of ['reset', 'serverError', 'lostResponse', 'truncateBody', 'stall'] as const) {
      expect(total(fault), fault).toBeGreaterThan(10);
    }
  });
});
