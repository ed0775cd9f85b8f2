import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCcsError } from '../../common/errors';
import { remoteConformance } from '../../test-support/remoteConformance';
import { FolderRemote } from '../folder/FolderRemote';
import { MemoryRemote } from '../memory/MemoryRemote';
import { FaultyRemote, mulberry32, type FaultMode } from './FaultyRemote';
import { RetryingRemote } from './RetryingRemote';

const TRANSPORT_FAULTS = { fail: 0.04, lostResponse: 0.04, dropMidBody: 0.04, truncate: 0.08, stall: 0.04 };
const conformanceRuns: FaultyRemote[] = [];

// Transport faults must be invisible behind RetryingRemote: the whole suite passes through them.
remoteConformance('folder + injected transport faults + retry', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ccs-faulty-'));
  const folder = new FolderRemote(path.join(dir, 'store'));
  await folder.create();
  const faulty = new FaultyRemote(folder, { seed: conformanceRuns.length + 1, probability: TRANSPORT_FAULTS, stallMs: 3 });
  conformanceRuns.push(faulty);
  const remote = new RetryingRemote(faulty, { attempts: 40, sleep: async () => undefined });
  return { remote, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
});

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('FaultyRemote', () => {
  it('injected every transport fault during the conformance run above', () => {
    const total = (m: FaultMode) => conformanceRuns.reduce((n, f) => n + f.injected[m], 0);
    expect(conformanceRuns.length).toBeGreaterThan(50);
    for (const mode of ['fail', 'lostResponse', 'dropMidBody', 'truncate', 'stall'] as const) {
      expect(total(mode), mode).toBeGreaterThan(3);
    }
  });

  describe('behind RetryingRemote with few attempts (faults surface)', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ccs-faulty-'));
    });
    afterEach(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('a random workload either succeeds with the right bytes or fails with a CcsError', async () => {
      const folder = new FolderRemote(path.join(dir, 'store'));
      await folder.create();
      const p = 0.12;
      const faulty = new FaultyRemote(folder, {
        seed: 42,
        probability: { fail: p, lostResponse: p, dropMidBody: p, truncate: p, stall: p },
        stallMs: 2,
      });
      const remote = new RetryingRemote(faulty, { attempts: 2, sleep: async () => undefined });
      const rand = mulberry32(7);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const names = ['log/1', 'log/2', 'data/aa/p1', 'data/ab/p2', 'index/i'];
      // What each name may hold after failures of unknown outcome: contents, or null for absent.
      const possible = new Map<string, Set<string | null>>(names.map((n) => [n, new Set([null])]));
      const contents = new Map<string, Buffer>();
      const surfaced: Record<string, number> = {};
      const note = (e: unknown): void => {
        expect(isCcsError(e), `not a CcsError: ${String(e)}`).toBe(true);
        const code = (e as { code: string }).code;
        surfaced[code] = (surfaced[code] ?? 0) + 1;
      };

      for (let step = 0; step < 600; step++) {
        const name = pick(names);
        const states = possible.get(name)!;
        const op = pick(['put', 'createOnly', 'get', 'range', 'stat', 'list', 'delete'] as const);
        if (op === 'put' || op === 'createOnly') {
          const data = randomBytes(1 + Math.floor(rand() * 3000));
          const h = sha(data);
          contents.set(h, data);
          try {
            await remote.put(name, data, { createOnly: op === 'createOnly' });
            if (op === 'createOnly') expect(states.has(null)).toBe(true);
            possible.set(name, new Set([h]));
          } catch (e) {
            note(e);
            if (isCcsError(e, 'ALREADY_EXISTS')) {
              expect([...states].some((s) => s !== null)).toBe(true);
              states.delete(null);
            } else if (op === 'put' || states.has(null)) {
              states.add(h);
            }
          }
        } else if (op === 'get' || op === 'range') {
          try {
            if (op === 'get') {
              const got = await remote.get(name);
              expect(states.has(sha(got)), `get ${name} returned bytes it never held`).toBe(true);
              possible.set(name, new Set([sha(got)]));
            } else {
              const got = await remote.getRange(name, 1, 100);
              const ok = [...states].some((s) => s !== null && contents.get(s)!.subarray(1, 101).equals(got));
              expect(ok, `getRange ${name} returned bytes it never held`).toBe(true);
            }
          } catch (e) {
            note(e);
            if (isCcsError(e, 'OBJECT_MISSING')) {
              expect(states.has(null)).toBe(true);
              possible.set(name, new Set([null]));
            }
            if (isCcsError(e, 'OBJECT_CORRUPT')) {
              expect([...states].some((s) => s !== null && contents.get(s)!.length < 101)).toBe(true);
            }
          }
        } else if (op === 'stat') {
          try {
            const info = await remote.stat(name);
            const sizes = [...states].map((s) => (s === null ? null : contents.get(s)!.length));
            expect(sizes).toContain(info === null ? null : info.size);
          } catch (e) {
            note(e);
          }
        } else if (op === 'list') {
          try {
            for (const o of await remote.list('')) {
              const sizes = [...possible.get(o.name)!].map((s) => (s === null ? -1 : contents.get(s)!.length));
              expect(sizes).toContain(o.size);
            }
          } catch (e) {
            note(e);
          }
        } else {
          try {
            await remote.delete(name);
            possible.set(name, new Set([null]));
          } catch (e) {
            note(e);
            states.add(null);
          }
        }
      }
      // Every kind of fault happened, and some got through the two attempts as errors.
      for (const mode of ['fail', 'lostResponse', 'dropMidBody', 'truncate', 'stall'] as const) {
        expect(faulty.injected[mode], mode).toBeGreaterThan(5);
      }
      expect(surfaced.REMOTE_UNREACHABLE).toBeGreaterThan(5);
    });
  });

  it('bit flips at rest are the one silent fault, and every one is counted', async () => {
    const mem = new MemoryRemote();
    const faulty = new FaultyRemote(mem, { seed: 3, probability: { bitFlip: 0.3 } });
    const written = new Map<string, string>();
    for (let i = 0; i < 60; i++) {
      const data = randomBytes(100 + i);
      await faulty.put(`data/${i}`, data);
      written.set(`data/${i}`, sha(data));
    }
    const detected = new Set<string>();
    for (const [name, h] of written) if (sha(await faulty.get(name)) !== h) detected.add(name);
    expect(faulty.injected.bitFlip).toBeGreaterThan(5);
    expect(detected.size).toBe(faulty.injected.bitFlip);
    expect([...detected].sort()).toEqual([...faulty.flipped].sort());
    // One bit each: the size is unchanged.
    for (const name of detected) expect((await faulty.stat(name))!.size).toBe(100 + Number(name.slice(5)));
    // A clean rewrite heals the object.
    const healed = [...detected][0]!;
    faulty.enabled = false;
    await faulty.put(healed, Buffer.from('fresh'));
    expect(faulty.flipped.has(healed)).toBe(false);
  });

  it('stale listings omit recently written names for a while', async () => {
    let now = 1_000_000;
    const faulty = new FaultyRemote(new MemoryRemote(), { seed: 1, probability: { staleList: 1 }, staleMs: 5000, now: () => now });
    await faulty.put('old', Buffer.from('o'));
    now += 6000;
    await faulty.put('new', Buffer.from('n'));
    expect((await faulty.list('')).map((o) => o.name)).toEqual(['old']);
    now += 5000;
    expect((await faulty.list('')).map((o) => o.name).sort()).toEqual(['new', 'old']);
    expect(faulty.injected.staleList).toBe(2);
  });

  it('stalls before the call and then proceeds', async () => {
    const sleeps: number[] = [];
    const faulty = new FaultyRemote(new MemoryRemote(), {
      seed: 1,
      probability: { stall: 1 },
      stallMs: 40,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    await faulty.put('a', Buffer.from('x'));
    expect(await faulty.get('a')).toEqual(Buffer.from('x'));
    expect(sleeps).toHaveLength(2);
    for (const ms of sleeps) expect(ms).toBeLessThan(40);
    expect(faulty.injected.stall).toBe(2);
  });

  it('a lost response to a put happens after the object was stored', async () => {
    const mem = new MemoryRemote();
    const faulty = new FaultyRemote(mem, { seed: 1, probability: { lostResponse: 1 } });
    const err = await faulty.put('log/1', Buffer.from('e'), { createOnly: true }).catch((e: unknown) => e);
    expect(isCcsError(err, 'REMOTE_UNREACHABLE')).toBe(true);
    expect(await mem.get('log/1')).toEqual(Buffer.from('e'));
  });

  it('is reproducible from its seed', async () => {
    const run = async (seed: number) => {
      const faulty = new FaultyRemote(new MemoryRemote(), {
        seed,
        probability: { fail: 0.3, lostResponse: 0.3, dropMidBody: 0.3, truncate: 0.3 },
      });
      const outcomes: string[] = [];
      for (let i = 0; i < 40; i++) {
        await faulty.put(`o/${i % 5}`, Buffer.from(`v${i}`)).then(
          () => outcomes.push('ok'),
          () => outcomes.push('err'),
        );
        await faulty.get(`o/${i % 5}`).then(
          (b) => outcomes.push(b.toString()),
          (e: { code: string }) => outcomes.push(e.code),
        );
      }
      return { outcomes, injected: { ...faulty.injected } };
    };
    expect(await run(5)).toEqual(await run(5));
    expect(await run(5)).not.toEqual(await run(6));
  });

  it('rejects invalid names before injecting anything', async () => {
    const faulty = new FaultyRemote(new MemoryRemote(), { seed: 1, probability: { fail: 1, stall: 1 } });
    await expect(faulty.get('../x')).rejects.toThrow(/invalid object name/);
    await expect(faulty.list('/x')).rejects.toThrow(/invalid object name prefix/);
    expect(faulty.injected.fail).toBe(0);
  });
});
