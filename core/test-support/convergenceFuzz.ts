import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ChunkReader } from '../engine/chunkReader';
import { ContentLoader } from '../engine/contentLoader';
import { conflictingHeads } from '../engine/heads';
import { newStats } from '../engine/transferStats';
import { makeDevices, readTree, TestDevice, type MemorySecretStore } from './vaultHarness';
import { mulberry32 } from '../common/prng';

/**
 * Randomized multi-device convergence in the style of Yjs' applyRandomTests: N devices on one
 * real folder remote make random edits, creates, deletes and renames of text, JSON and binary
 * files, sync in random order, drop off the network for a while, and run with wall clocks up to
 * ±24 h off that sometimes step backwards. At the end every device must hold the same tree, and
 * every line any device ever wrote into a (never deleted) file must be in that file or in a
 * visible conflict version of it: nothing written may be lost silently.
 */

/** Seeded PRNG of the runs; the seed is printed when a run fails. */
export const prng = mulberry32;

const TEXT_FILES = ['CLAUDE.md', 'agents/reviewer.md', 'commands/deploy.md', 'skills/s/SKILL.md'];
const JSON_FILE = 'settings.json';
const BINARY_FILE = 'assets/icon.bin';
const SCRATCH = ['scratch/a.md', 'scratch/b.md', 'scratch/c.md'];
const HOUR = 3600_000;

export interface Template {
  dir: string;
  devices: number;
  store: MemorySecretStore;
}

/** One vault with `devices` devices, built once and copied for every run (KDF work only once). */
export async function makeTemplate(dir: string, devices: number): Promise<Template> {
  const ds = await makeDevices(dir, join(dir, 'remote'), devices);
  await writeFile(join(ds[0]!.root, 'keep.md'), 'keeps every root non-empty\n');
  for (const d of ds) await d.sync();
  return { dir, devices, store: ds[0]!.store as MemorySecretStore };
}

interface Written {
  path: string;
  token: string;
}

export async function runConvergence(template: Template, work: string, seed: number): Promise<void> {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  await rm(work, { recursive: true, force: true });
  await cp(template.dir, work, { recursive: true });
  // device.json holds absolute paths: point the copies at their own root and remote.
  for (let i = 0; i < template.devices; i++) {
    const file = join(work, `home${i}`, 'device.json');
    await writeFile(file, (await readFile(file, 'utf8')).split(template.dir).join(work));
  }
  const n = 3 + Math.floor(rnd() * (template.devices - 2));
  const devices = Array.from({ length: n }, (_, i) => new TestDevice(join(work, `home${i}`), join(work, `root${i}`), template.store));
  const offset = devices.map(() => Math.round((rnd() * 2 - 1) * 24 * HOUR));
  const offline = devices.map(() => false);
  const written: Written[] = [];
  const everDeleted = new Set<string>();
  let tokenNo = 0;
  const now = (i: number) => () => Date.now() + offset[i]!;
  const sync = async (i: number) => {
    try {
      const r = await devices[i]!.sync({ now: now(i) });
      trace(`dev${i} syncs: pushed ${r.pushed} pulled ${r.pulled} merges ${JSON.stringify(r.plan.merge)} conflicts ${r.conflictPaths}`);
    } catch (e) {
      throw new Error(`sync of device ${i} failed (seed ${seed}): ${(e as Error).message}`, { cause: e });
    }
  };

  const trace = process.env.CCSYNC_FUZZ_TRACE ? (m: string) => console.log(`[${seed}] ${m}`) : () => {};
  const steps = 20 + Math.floor(rnd() * 25);
  for (let step = 0; step < steps; step++) {
    const i = Math.floor(rnd() * n);
    const root = devices[i]!.root;
    const r = rnd();
    if (r < 0.3) {
      const path = pick(TEXT_FILES);
      const token = `tok-${seed}-${tokenNo++}`;
      const old = await readFile(join(root, path), 'utf8').catch(() => '');
      const lines = old === '' ? [] : old.split('\n').filter((l, k, a) => k < a.length - 1 || l !== '');
      lines.splice(Math.floor(rnd() * (lines.length + 1)), 0, token);
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), lines.join('\n') + '\n');
      written.push({ path, token });
      trace(`dev${i} inserts ${token} into ${path} at line ${lines.indexOf(token)}`);
    } else if (r < 0.4) {
      const token = `tok-${seed}-${tokenNo++}`;
      const doc = JSON.parse(await readFile(join(root, JSON_FILE), 'utf8').catch(() => '{"permissions":{"allow":[]}}')) as { permissions: { allow: string[] } };
      const allow = doc.permissions?.allow ?? [];
      allow.splice(Math.floor(rnd() * (allow.length + 1)), 0, `Bash(${token})`);
      await writeFile(join(root, JSON_FILE), JSON.stringify({ ...doc, permissions: { ...doc.permissions, allow } }, null, 2) + '\n');
      written.push({ path: JSON_FILE, token });
      trace(`dev${i} adds ${token} to ${JSON_FILE}`);
    } else if (r < 0.45) {
      await mkdir(join(root, 'assets'), { recursive: true });
      await writeFile(join(root, BINARY_FILE), Buffer.from(Array.from({ length: 64 }, () => Math.floor(rnd() * 256)).concat([0])));
    } else if (r < 0.55) {
      const path = pick(SCRATCH);
      await mkdir(join(root, 'scratch'), { recursive: true });
      await writeFile(join(root, path), `scratch ${seed} ${tokenNo++}\n`);
    } else if (r < 0.6) {
      const path = pick(SCRATCH);
      await rm(join(root, path), { force: true });
      everDeleted.add(path);
      trace(`dev${i} deletes ${path}`);
    } else if (r < 0.65) {
      const [from, to] = [pick(SCRATCH), pick(SCRATCH)];
      if (from !== to) await rename(join(root, from), join(root, to)).catch(() => {});
    } else if (r < 0.72) {
      offline[i] = !offline[i];
      trace(`dev${i} ${offline[i] ? 'goes offline' : 'comes online'}`);
    } else if (r < 0.76) {
      offset[i] = offset[i]! - Math.round(rnd() * 6 * HOUR); // the clock steps backwards
    } else if (!offline[i]) {
      await sync(i);
    }
  }

  // Heal: everyone back online, a few full rounds.
  for (let round = 0; round < 3; round++) for (let i = 0; i < n; i++) await sync(i);
  const trees = await Promise.all(devices.map((d) => readTree(d.root)));
  for (let i = 1; i < n; i++) {
    expect([...trees[i]!.keys()].sort(), `device ${i} file list (seed ${seed})`).toEqual([...trees[0]!.keys()].sort());
    for (const [p, b] of trees[0]!) expect(trees[i]!.get(p)?.equals(b), `device ${i} ${p} (seed ${seed})`).toBe(true);
  }
  const s = await devices[0]!.session();
  try {
    const loader = new ContentLoader(s, new ChunkReader(s.remote, s.keys, newStats()));
    const contents = new Map<string, string[]>();
    for (const path of new Set(written.map((w) => w.path))) {
      const heads = s.db.headsOf(path);
      const live = conflictingHeads(heads);
      const sides = live.length > 0 ? live : heads.filter((h) => !h.deleted);
      contents.set(path, await Promise.all(sides.map(async (h) => (await loader.load(h)).toString('utf8'))));
    }
    for (const w of written) {
      if (everDeleted.has(w.path)) continue;
      const found = contents.get(w.path)!.some((c) => c.includes(w.token));
      expect(found, `${w.token} written to ${w.path} is neither in the file nor in a conflict version (seed ${seed})`).toBe(true);
    }
  } finally {
    s.close();
  }
}
