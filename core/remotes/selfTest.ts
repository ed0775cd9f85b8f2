import { randomBytes } from 'node:crypto';
import { isCcsError } from '../common/errors';
import type { Remote } from './remote';

/**
 * How a remote guarantees createOnly: `enforced` — exactly one of concurrent writers wins;
 * `emulated` — an existing object is never replaced, but writers racing on a new name may both
 * succeed; `unsupported` — createOnly replaced an existing object.
 */
export type ConditionalWrites = 'enforced' | 'emulated' | 'unsupported';

/**
 * Implemented by remotes whose createOnly guarantee depends on the server (WebDAV), and forwarded
 * by wrappers. A remote without it is taken at its word when createOnly behaves: `enforced`.
 */
export interface ConditionalWritesReporter {
  conditionalWrites(): Promise<ConditionalWrites | undefined>;
}

export interface SelfTestStep {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

export interface SelfTestReport {
  ok: boolean;
  remote: string;
  steps: SelfTestStep[];
  /** 'unknown' when the test stopped before it could find out (e.g. the store is unreachable). */
  conditionalWrites: ConditionalWrites | 'unknown';
}

const PROBE_SIZE = 64 * 1024 + 17;

/**
 * `ccsync remote test URL`: shows whether a store can be used before anything is stored in it.
 * Writes one object under a random probe/… name and removes it again; every step is timed, and a
 * failing step stops the ones that depend on it. It never throws for a remote problem: a broken
 * store is a report with ok = false.
 */
export async function remoteSelfTest(remote: Remote): Promise<SelfTestReport> {
  const steps: SelfTestStep[] = [];
  let conditionalWrites: SelfTestReport['conditionalWrites'] = 'unknown';
  const name = `probe/${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
  const data = randomBytes(PROBE_SIZE);
  let written = false;

  const step = async (stepName: string, fn: () => Promise<string>): Promise<boolean> => {
    const t0 = performance.now();
    let ok = false;
    let detail: string;
    try {
      detail = await fn();
      ok = true;
    } catch (e) {
      detail = e instanceof Error ? e.message : String(e);
    }
    steps.push({ name: stepName, ok, ms: Math.round(performance.now() - t0), detail });
    return ok;
  };
  const skip = (...names: string[]): void => {
    for (const n of names) steps.push({ name: n, ok: false, ms: 0, detail: 'skipped: an earlier step failed' });
  };

  const reachable = await step('reach the store', async () => {
    await remote.check();
    return `${remote.description} is reachable and accepts the credentials`;
  });
  const wrote =
    reachable &&
    (await step('write', async () => {
      written = true;
      await remote.put(name, data, { createOnly: true });
      return `wrote ${data.length} bytes to ${name}`;
    }));
  if (!wrote) {
    skip(...(reachable ? [] : ['write']), 'read', 'read a range', 'list', 'conditional write', ...(written ? [] : ['delete']));
  } else {
    await step('read', async () => {
      const back = await remote.get(name);
      if (!back.equals(data)) throw new Error(`read ${back.length} bytes that differ from the ${data.length} written`);
      return `read back ${back.length} identical bytes`;
    });
    await step('read a range', async () => {
      const offset = 4099;
      const length = 10_000;
      const part = await remote.getRange(name, offset, length);
      if (!part.equals(data.subarray(offset, offset + length))) throw new Error(`bytes ${offset}..${offset + length} differ`);
      return `bytes ${offset}..${offset + length} match`;
    });
    await step('list', async () => {
      const listed = await remote.list('probe/');
      const mine = listed.find((o) => o.name === name);
      if (mine === undefined) throw new Error(`${name} is missing from the listing of probe/ (${listed.length} entries)`);
      if (mine.size !== data.length) throw new Error(`listed with size ${mine.size} instead of ${data.length}`);
      return `listed with the right size`;
    });
    await step('conditional write', async () => {
      const outcome = await remote.put(name, randomBytes(100), { createOnly: true }).then(
        () => 'replaced' as const,
        (e: unknown) => {
          if (isCcsError(e, 'ALREADY_EXISTS')) return 'refused' as const;
          throw e;
        },
      );
      if (outcome === 'replaced') {
        conditionalWrites = 'unsupported';
        throw new Error('a create-only write replaced an existing object; concurrent machines could overwrite each other');
      }
      const reporter = remote as Partial<ConditionalWritesReporter>;
      conditionalWrites = (typeof reporter.conditionalWrites === 'function' ? await reporter.conditionalWrites() : undefined) ?? 'enforced';
      const kept = await remote.get(name);
      if (!kept.equals(data)) throw new Error('the refused write changed the stored object');
      return conditionalWrites === 'enforced'
        ? 'create-only writes are enforced by the store'
        : 'create-only writes are checked by ccsync, not atomically by the server: two machines racing on one name could both succeed';
    });
  }
  if (written) {
    await step('delete', async () => {
      await remote.delete(name);
      if ((await remote.stat(name)) !== null) throw new Error(`${name} is still there after delete`);
      return 'deleted the probe object';
    });
  }

  return { ok: steps.every((s) => s.ok), remote: remote.description, steps, conditionalWrites };
}
