/** Test support: a queue in a temp folder on a controllable clock, and a child process to kill. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteQueue } from './SqliteQueue';
import type { QueueOptions, RecoveredQueue } from './types';
import { mulberry32 } from '../common/prng';

export const TEST_KEY = Buffer.alloc(32, 0x5a);

export interface QueueFixture {
  dir: string;
  file: string;
  queue: SqliteQueue;
  /** Fake wall clock in ms; tests move it by assigning. */
  time: { now: number };
  /** Closes and opens the same file again (what a restart does). */
  reopen(options?: Partial<QueueOptions>): { queue: SqliteQueue; recovered: RecoveredQueue | null };
  cleanup(): void;
}

export function openTempQueue(options: Partial<QueueOptions> = {}): QueueFixture {
  const dir = mkdtempSync(join(tmpdir(), 'ccs-queue-'));
  const file = join(dir, 'queue.db');
  const time = { now: 1_700_000_000_000 };
  const base: QueueOptions = { key: TEST_KEY, now: () => time.now, random: () => 0.5, ...options };
  const fixture: QueueFixture = {
    dir,
    file,
    time,
    queue: SqliteQueue.open(file, base).queue,
    reopen(more = {}) {
      try {
        fixture.queue.close();
      } catch {
        // already closed by the test
      }
      const opened = SqliteQueue.open(file, { ...base, ...more });
      fixture.queue = opened.queue;
      return opened;
    },
    cleanup() {
      try {
        fixture.queue.close();
      } catch {
        // already closed by the test
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** A small deterministic PRNG (mulberry32) for jitter and workloads in tests. */
export const seededRandom = mulberry32;

/**
 * Runs `source` (TypeScript; import paths relative to core/queue) in a child process and expects
 * it to end by SIGKILL, as a crash or `kill -9` would. Bundled with esbuild because Node 20 cannot
 * run the .ts sources; better-sqlite3 stays external and resolves through NODE_PATH.
 */
export async function runUntilKilled(source: string): Promise<void> {
  const { build } = await import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'ccs-child-'));
  try {
    const outfile = join(dir, 'child.cjs');
    await build({ stdin: { contents: source, resolveDir: import.meta.dirname, loader: 'ts' }, bundle: true, platform: 'node', format: 'cjs', packages: 'external', outfile, logLevel: 'error' });
    const r = spawnSync(process.execPath, [outfile], { encoding: 'utf8', env: { ...process.env, NODE_PATH: join(import.meta.dirname, '..', '..', 'node_modules') } });
    if (r.signal !== 'SIGKILL') throw new Error(`child exited with ${r.status ?? r.signal}, not SIGKILL:\n${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
