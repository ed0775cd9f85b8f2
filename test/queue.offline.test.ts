import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueOpDto } from '../core/api/contract';
import { CcsError } from '../core/common/errors';
import { readDeviceConfig } from '../core/engine/deviceConfig';
import { openDeviceQueue } from '../core/engine/deviceQueue';
import { queuedSync, registerOpHandler } from '../core/engine/queuedSync';
import { createSyncHost } from '../core/host/createSyncHost';
import type { AutoSyncOptions } from '../core/host/types';
import { makeDevices, runCli, tempDir } from '../core/test-support/vaultHarness';

// Issue #4: every change survives a crash, a reboot or a week offline; the queue drains when the
// remote is back. Real SQLite files, a real folder remote made unreachable by moving it away (as
// an unmounted drive looks), and the real CLI: every call is a new process, so whatever the
// queue shows has survived a restart. Works with the OS keychain (`npm test`) and without one
// (keyStore 'none': the password comes from CCSYNC_PASSWORD, the queue key from <home>/queue.key).

interface QueueJson {
  reachability: { state: string; since: string | null; lastError: string | null; nextProbeAt: string | null; failedChecks: number };
  ops: QueueOpDto[];
  counts: Record<string, number>;
}

const PASSWORD = 'pw-queue-1';

describe('ccsync sync / queue with an unreachable folder remote', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let remote: string;
  const A = { home: '', root: '' };
  const B = { home: '', root: '' };
  let env: NodeJS.ProcessEnv = {};
  const cli = (d: { home: string }, args: string[], input?: string) => runCli(['--home', d.home, ...args], { env, ...(input !== undefined ? { input } : {}) });
  const queueOf = async (d: { home: string }, ...extra: string[]): Promise<QueueJson> => {
    const r = await cli(d, ['queue', '--json', ...extra]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as QueueJson;
  };
  const opsFor = (q: QueueJson, item: string) => q.ops.filter((o) => o.item === item);

  beforeAll(async () => {
    dir = await tempDir();
    remote = join(dir.path, 'remote');
    Object.assign(A, { home: join(dir.path, 'ha'), root: join(dir.path, 'ra') });
    Object.assign(B, { home: join(dir.path, 'hb'), root: join(dir.path, 'rb') });
    await mkdir(A.root);
    await mkdir(B.root);
    const init = await cli(A, ['init', '--root', A.root, '--remote', remote, '--device-name', 'alpha', '--kdf', 'scrypt', '--password-stdin', '--json'], `${PASSWORD}\n`);
    expect(init.code, init.stderr).toBe(0);
    if (JSON.parse(init.stdout).keyStore === 'none') env = { CCSYNC_PASSWORD: PASSWORD };
    const join_ = await cli(B, ['join', '--root', B.root, '--remote', remote, '--device-name', 'beta', '--password-stdin'], `${PASSWORD}\n`);
    expect(join_.code, join_.stderr).toBe(0);
    await writeFile(join(A.root, 'CLAUDE.md'), 'first\n');
    await writeFile(join(A.root, 'old.md'), 'to be deleted offline\n');
    await writeFile(join(A.root, 'settings.json'), '{"theme":"dark"}\n');
    for (const d of [A, B]) {
      const r = await cli(d, ['sync']);
      expect(r.code, r.stderr).toBe(0);
    }
    // The remote "goes away": an unmounted drive, a dead network share.
    await rename(remote, `${remote}.away`);
  });
  afterAll(() => dir.cleanup());

  it('ten edits while offline are one pending push op with attempts, next attempt and last error; a deletion is queued too', async () => {
    for (let i = 0; i < 10; i++) {
      await writeFile(join(A.root, 'CLAUDE.md'), `edit ${i}\n`);
      if (i === 0) await rm(join(A.root, 'old.md'));
      const r = await cli(A, ['sync']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`ccsync: remote unreachable: remote folder ${remote} does not exist`);
      expect(r.stderr).toContain('; 2 changes are queued and will be sent when it is back [REMOTE_UNREACHABLE]');
    }
    const q = await queueOf(A);
    expect(q.reachability.state).toBe('offline');
    expect(q.reachability.lastError).toContain(remote);
    expect(Date.parse(q.reachability.nextProbeAt!)).toBeGreaterThan(Date.now());
    const [claude, ...more] = opsFor(q, 'CLAUDE.md');
    expect(more).toEqual([]);
    expect(claude).toMatchObject({ kind: 'push', status: 'pending', lastError: expect.stringContaining(`REMOTE_NOT_FOUND: remote folder ${remote} does not exist`) });
    // Every sync of the user tried every queued change: ten tries.
    expect(claude!.attempts).toBe(10);
    expect(Date.parse(claude!.nextAttemptAt!)).toBeGreaterThan(Date.now());
    for (const k of ['id', 'kind', 'item', 'status', 'priority', 'attempts', 'nextAttemptAt', 'lastError', 'createdAt', 'updatedAt']) expect(claude).toHaveProperty(k);
    expect(Date.parse(claude!.createdAt)).toBeLessThanOrEqual(Date.parse(claude!.updatedAt));
    const old = opsFor(q, 'old.md');
    expect(old).toHaveLength(1);
    expect(old[0]).toMatchObject({ kind: 'push', status: 'pending' });
    // settings.json did not change: nothing queued for it. CLAUDE.md (memory) outranks old.md (other).
    expect(opsFor(q, 'settings.json')).toEqual([]);
    expect(claude!.priority).toBeGreaterThan(old[0]!.priority);

    const text = await cli(A, ['queue']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^remote: offline since \S+ \(10 failed tries/);
    expect(text.stdout).toContain('2 queued ops:');
    expect(text.stdout).toContain(`#${claude!.id}  pending  push  CLAUDE.md`);
    expect(text.stdout).toContain('attempts 10');
  });

  it('queue retry / drop act on real ids; unknown ids exit 2 with a specific message', async () => {
    const q = await queueOf(A);
    const claude = opsFor(q, 'CLAUDE.md')[0]!;
    const retry = await cli(A, ['queue', 'retry', String(claude.id)]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain(`op #${claude.id} (push CLAUDE.md) will run at the next sync`);
    const after = opsFor(await queueOf(A), 'CLAUDE.md')[0]!;
    expect(Date.parse(after.nextAttemptAt!)).toBeLessThanOrEqual(Date.now());
    expect(after.attempts).toBe(claude.attempts);

    for (const args of [['retry', '99999'], ['drop', '99999']]) {
      const r = await cli(A, ['queue', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('there is no queued op #99999');
    }
    const bad = await cli(A, ['queue', 'drop', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"abc" is not a queue op id');

    await writeFile(join(A.root, 'scratch.md'), 'scratch\n');
    expect((await cli(A, ['sync'])).code).toBe(1);
    const scratch = opsFor(await queueOf(A), 'scratch.md')[0]!;
    const drop = await cli(A, ['queue', 'drop', String(scratch.id), '--json']);
    expect(drop.code, drop.stderr).toBe(0);
    const dropped = JSON.parse(drop.stdout) as { op: QueueOpDto; message: string };
    expect(dropped.op).toMatchObject({ id: scratch.id, status: 'dropped' });
    expect(dropped.message).toContain('scratch.md is unchanged on disk, so the next scan queues it again unless it is ignored');
    expect(opsFor(await queueOf(A), 'scratch.md')).toEqual([]);
    expect(opsFor(await queueOf(A, '--all'), 'scratch.md')).toMatchObject([{ id: scratch.id, status: 'dropped' }]);
    const again = await cli(A, ['queue', 'drop', String(scratch.id)]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('was already dropped');

    // The next scan finds the file again: a new op.
    expect((await cli(A, ['sync'])).code).toBe(1);
    const requeued = opsFor(await queueOf(A), 'scratch.md');
    expect(requeued).toHaveLength(1);
    expect(requeued[0]!.id).not.toBe(scratch.id);
  });

  it('a corrupt queue.db is moved aside with a message, and a rescan rebuilds the queue', async () => {
    await rm(join(A.home, 'queue.db-wal'), { force: true });
    await writeFile(join(A.home, 'queue.db'), Buffer.alloc(8192, 0x5a));
    const r = await cli(A, ['sync']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ccsync: warning: the operation queue \S+queue\.db was unreadable \(.+\); it was moved to \S+queue\.db\.corrupt-\S+ and a new, empty queue was created/);
    expect(r.stderr).toContain('3 changes are queued and will be sent when it is back');
    expect((await readdir(A.home)).filter((f) => f.startsWith('queue.db.corrupt-'))).toHaveLength(1);
    const q = await queueOf(A);
    expect(q.ops.map((o) => o.item).sort()).toEqual(['CLAUDE.md', 'old.md', 'scratch.md']);
    expect(q.ops.every((o) => o.status === 'pending' && o.attempts === 1)).toBe(true);
  });

  it('when the remote is back, the next sync drains the queue and the other device gets the final content', async () => {
    await rename(`${remote}.away`, remote);
    const r = await cli(A, ['sync', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ pushed: 3, queued: 0, dryRun: false });
    const q = await queueOf(A);
    expect(q.ops).toEqual([]);
    expect(q.reachability.state).toBe('online');
    expect(q.reachability.lastError).toBeNull();
    expect((await cli(A, ['queue'])).stdout).toMatch(/^remote: online since \S+ .*\nqueue empty\n$/);

    expect((await cli(B, ['sync'])).code).toBe(0);
    expect(await readFile(join(B.root, 'CLAUDE.md'), 'utf8')).toBe('edit 9\n');
    expect(await readFile(join(B.root, 'scratch.md'), 'utf8')).toBe('scratch\n');
    await expect(readFile(join(B.root, 'old.md'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('createSyncHost auto-sync', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(() => dir.cleanup());

  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('probes while the remote is away and drains the queue as soon as it is back, without syncNow', async () => {
    const remote = join(dir.path, 'remote');
    const [a, b] = await makeDevices(dir.path, remote, 2);
    await writeFile(join(a!.root, 'CLAUDE.md'), 'one\n');
    const notices: string[] = [];
    const host = await createSyncHost({ home: a!.home, secretStore: a!.store, queueBackoff: { baseMs: 50, capMs: 400 }, onNotice: (m) => notices.push(m) });
    try {
      expect(await host.sync.syncNow()).toMatchObject({ pushed: 1, queued: 0 });
      expect(await host.sync.getReachability()).toMatchObject({ state: 'online', lastError: null });

      await rename(remote, `${remote}.away`);
      await writeFile(join(a!.root, 'CLAUDE.md'), 'two\n');
      await mkdir(join(a!.root, 'agents'));
      await writeFile(join(a!.root, 'agents/reviewer.md'), 'review\n');
      const outcomes: Parameters<NonNullable<AutoSyncOptions['onRun']>>[0][] = [];
      const auto = host.startAutoSync({ intervalMs: 100, minProbeMs: 20, maxProbeMs: 400, onRun: (o) => outcomes.push(o) });
      try {
        await until('the host saw the remote go away and queued both changes', async () => {
          const reach = await host.sync.getReachability();
          const ops = await host.sync.listQueue();
          return reach.state === 'offline' && ops.filter((o) => o.kind === 'push' && o.attempts >= 1).length === 2;
        });
        const ops = await host.sync.listQueue();
        expect(ops.map((o) => o.item).sort()).toEqual(['CLAUDE.md', 'agents/reviewer.md']);
        expect(ops.every((o) => o.lastError?.includes(remote))).toBe(true);
        // While offline the loop probes (remote.check()) instead of syncing.
        await until('a failed probe', async () => outcomes.some((o) => 'reachability' in o && o.reachability.state === 'offline'));

        await rename(`${remote}.away`, remote);
        await until('the queue drained', async () => (await host.sync.listQueue()).length === 0);
        expect(await host.sync.getReachability()).toMatchObject({ state: 'online', lastError: null, failedChecks: 0 });
        expect(outcomes.some((o) => 'result' in o && o.result.pushed === 2)).toBe(true);
      } finally {
        auto.stop();
      }
    } finally {
      await host.close();
    }
    expect(notices).toEqual([]);
    await b!.sync();
    expect(await readFile(join(b!.root, 'CLAUDE.md'), 'utf8')).toBe('two\n');
    expect(await readFile(join(b!.root, 'agents/reviewer.md'), 'utf8')).toBe('review\n');
  });

  it('queue calls on the host: list, retry and drop by id; unknown ids are USAGE errors', async () => {
    const remote = join(dir.path, 'remote2');
    await mkdir(join(dir.path, 'second'));
    const [a] = await makeDevices(join(dir.path, 'second'), remote, 1);
    const host = await createSyncHost({ home: a!.home, secretStore: a!.store, onNotice: () => {} });
    try {
      await rename(remote, `${remote}.away`);
      await writeFile(join(a!.root, 'settings.json'), '{}\n');
      await expect(host.sync.syncNow()).rejects.toMatchObject({ code: 'REMOTE_UNREACHABLE', message: expect.stringContaining('1 change is queued and will be sent when it is back') });
      const [op] = await host.sync.listQueue();
      expect(op).toMatchObject({ kind: 'push', item: 'settings.json', status: 'pending', attempts: 1 });
      await expect(host.sync.retryOp(op!.id)).resolves.toMatchObject({ op: { id: op!.id, status: 'pending' } });
      await expect(host.sync.dropOp(op!.id)).resolves.toMatchObject({ op: { status: 'dropped' }, message: expect.stringContaining('unchanged on disk') });
      await expect(host.sync.listQueue()).resolves.toEqual([]);
      await expect(host.sync.retryOp(4242)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('no queued op #4242') });
      await expect(host.sync.dropOp(4242)).rejects.toMatchObject({ code: 'USAGE' });
      await rename(`${remote}.away`, remote);
      await expect(host.sync.syncNow()).resolves.toMatchObject({ pushed: 1, queued: 0 });
    } finally {
      await host.close();
    }
  });
});

describe('queuedSync: op handlers', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(() => dir.cleanup());

  it('runs other op kinds after a successful sync: priority order, dependencies first, each acknowledged; an unreachable remote stops the drain', async () => {
    const [a] = await makeDevices(dir.path, join(dir.path, 'remote'), 1);
    const home = a!.home;
    const queue = await openDeviceQueue(home, await readDeviceConfig(home), { secretStore: a!.store });
    const [low, high, needsLow] = queue.enqueueMany([
      { kind: 'test-op', item: 'low', priority: 1 },
      { kind: 'test-op', item: 'high', priority: 9 },
      { kind: 'test-op', item: 'after-low', priority: 20, dependsOn: [{ batch: 0 }] },
      { kind: 'unknown-kind', item: 'kept', priority: 100 },
    ]);
    queue.close();
    const ran: string[] = [];
    let unreachable = false;
    const unregister = registerOpHandler('test-op', async (session, op) => {
      expect(session.home).toBe(home);
      if (unreachable) throw new CcsError('REMOTE_UNREACHABLE', 'connection reset by test');
      ran.push(op.item);
    });
    try {
      // after-low inherits priority 20 from its dependency chain, so low runs before high.
      const r = await queuedSync(home, { unlock: { secretStore: a!.store } });
      expect(ran).toEqual(['low', 'after-low', 'high']);
      // The op of a kind nobody handles stays queued, uncounted.
      expect(r.queue).toMatchObject({ queued: 1, changes: 0 });
      const after = await openDeviceQueue(home, await readDeviceConfig(home), { secretStore: a!.store });
      try {
        expect([low, high, needsLow].map((x) => after.get(x!.id)?.status)).toEqual(['done', 'done', 'done']);
        expect(after.list({ status: 'pending' })).toMatchObject([{ kind: 'unknown-kind', attempts: 0 }]);
        after.enqueue({ kind: 'test-op', item: 'offline' });
      } finally {
        after.close();
      }
      unreachable = true;
      await expect(queuedSync(home, { unlock: { secretStore: a!.store } })).rejects.toMatchObject({ code: 'REMOTE_UNREACHABLE', message: expect.stringContaining('remote unreachable: connection reset by test') });
      const q = await openDeviceQueue(home, await readDeviceConfig(home), { secretStore: a!.store });
      try {
        expect(q.list().find((o) => o.item === 'offline')).toMatchObject({ status: 'pending', attempts: 1, lastError: 'REMOTE_UNREACHABLE: connection reset by test' });
      } finally {
        q.close();
      }
      const host = await createSyncHost({ home, secretStore: a!.store });
      await expect(host.sync.getReachability()).resolves.toMatchObject({ state: 'offline', lastError: 'REMOTE_UNREACHABLE: connection reset by test' });
      await host.close();
    } finally {
      unregister();
    }
  });
});
