import { describe, expect, it } from 'vitest';
import type { ItemDto, QueueActionDto, QueueOpDto, ReachabilityDto, StatusDto, SyncProgressDto, SyncResultDto, SyncService } from '../../../../core/api/contract';
import { createMemoryTransport, type MemoryTransport } from '../../ipc/memoryTransport';
import { createServiceProxy } from '../../ipc/proxy';
import { connectStatusEvents, createStatusStore, type StatusStore } from './useStatusStore';

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(e: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function codedError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/**
 * A small in-memory core: items with states, a queue, syncNow() that pushes pending items and
 * emits onDidChangeStatus like the real host. Hooks let a test hold or fail a call.
 */
class FakeCore implements SyncService {
  items: ItemDto[] = [
    { path: 'CLAUDE.md', type: 'memory', state: 'pending-up' },
    { path: 'agents/reviewer.md', type: 'agent', state: 'synced' },
    { path: 'settings.json', type: 'settings', state: 'pending-down' },
  ];
  lastSync: string | null = null;
  syncCalls = 0;
  statusCalls = 0;
  holdSync: Promise<void> | null = null;
  holdStatus: Promise<void> | null = null;
  failStatus: Error | null = null;
  failSync: Error | null = null;
  transport: MemoryTransport | null = null;

  snapshot(): StatusDto {
    return {
      device: { id: 'dev-1', name: 'laptop' },
      root: '/home/me/.claude',
      remote: 'folder:///mnt/vault',
      items: this.items.map((i) => ({ ...i })),
      queue: this.items.filter((i) => i.state === 'pending-up').length,
      lastSync: this.lastSync,
    };
  }

  async getStatus(): Promise<StatusDto> {
    this.statusCalls++;
    const snap = this.snapshot();
    if (this.holdStatus) await this.holdStatus;
    if (this.failStatus) throw this.failStatus;
    return snap;
  }

  async syncNow(): Promise<SyncResultDto> {
    this.syncCalls++;
    if (this.holdSync) await this.holdSync;
    if (this.failSync) throw this.failSync;
    const pushed = this.items.filter((i) => i.state === 'pending-up').length;
    const pulled = this.items.filter((i) => i.state === 'pending-down').length;
    this.items = this.items.map((i) => (i.state.startsWith('pending') ? { ...i, state: 'synced' } : i));
    this.lastSync = '2025-01-02T03:04:05.000Z';
    this.transport?.emit('onDidChangeStatus', this.snapshot());
    return { pushed, pulled, conflicts: 0, bytesUploaded: 100 * pushed, bytesDownloaded: 50 * pulled, durationMs: 12 };
  }

  // The queue calls are not used by the status store.
  async listQueue(): Promise<QueueOpDto[]> {
    return [];
  }

  async retryOp(id: number): Promise<QueueActionDto> {
    throw codedError('USAGE', `there is no queued op #${id}`);
  }

  async dropOp(id: number): Promise<QueueActionDto> {
    throw codedError('USAGE', `there is no queued op #${id}`);
  }

  async getReachability(): Promise<ReachabilityDto> {
    return { state: 'unknown', since: null, checkedAt: null, lastError: null, nextProbeAt: null, failedChecks: 0 };
  }

  // Transfer control is not used by the status store either.
  async pauseSync(): Promise<void> {}
  async resumeSync(): Promise<void> {}
  async cancelSync(): Promise<void> {}
  async setBandwidthLimit(): Promise<void> {}
  async getProgress(): Promise<SyncProgressDto | null> {
    return null;
  }
}

function setup(): { core: FakeCore; transport: MemoryTransport; store: StatusStore; disconnect: () => void } {
  const core = new FakeCore();
  const transport = createMemoryTransport({ sync: core });
  core.transport = transport;
  const store = createStatusStore(createServiceProxy<SyncService>(transport, 'sync'));
  const disconnect = connectStatusEvents(store, transport);
  return { core, transport, store, disconnect };
}

describe('status store', () => {
  it('starts empty', () => {
    const { store } = setup();
    expect(store.getState()).toMatchObject({ status: null, loading: false, syncing: false, error: null, lastResult: null });
  });

  it('refresh() loads the status and toggles loading', async () => {
    const { core, store } = setup();
    const gate = deferred<void>();
    core.holdStatus = gate.promise;
    const done = store.getState().refresh();
    expect(store.getState().loading).toBe(true);
    gate.resolve();
    await done;
    const { status, loading, error } = store.getState();
    expect(loading).toBe(false);
    expect(error).toBeNull();
    expect(status?.device).toEqual({ id: 'dev-1', name: 'laptop' });
    expect(status?.items).toHaveLength(3);
    expect(status?.queue).toBe(1);
  });

  it('refresh() keeps the last status and records the error with its code', async () => {
    const { core, store } = setup();
    await store.getState().refresh();
    const before = store.getState().status;
    core.failStatus = codedError('REMOTE_UNREACHABLE', 'cannot reach the WebDAV server');
    await store.getState().refresh();
    expect(store.getState().status).toBe(before);
    expect(store.getState().error).toEqual({ code: 'REMOTE_UNREACHABLE', message: 'cannot reach the WebDAV server', action: 'refresh' });
    expect(store.getState().loading).toBe(false);
    core.failStatus = null;
    await store.getState().refresh();
    expect(store.getState().error).toBeNull();
  });

  it('an error without a code is shown as INTERNAL', async () => {
    const { core, store } = setup();
    core.failStatus = new Error('database is locked');
    await store.getState().refresh();
    expect(store.getState().error).toMatchObject({ code: 'INTERNAL', message: 'database is locked' });
  });

  it('syncNow() is busy while running, keeps the result and refreshes the status', async () => {
    const { core, store } = setup();
    await store.getState().refresh();
    const gate = deferred<void>();
    core.holdSync = gate.promise;
    const running = store.getState().syncNow();
    expect(store.getState().syncing).toBe(true);
    gate.resolve();
    const result = await running;
    expect(result).toEqual({ pushed: 1, pulled: 1, conflicts: 0, bytesUploaded: 100, bytesDownloaded: 50, durationMs: 12 });
    const state = store.getState();
    expect(state.syncing).toBe(false);
    expect(state.lastResult).toEqual(result);
    expect(state.status?.queue).toBe(0);
    expect(state.status?.lastSync).toBe('2025-01-02T03:04:05.000Z');
    expect(state.status?.items.every((i) => i.state === 'synced')).toBe(true);
  });

  it('syncNow() coalesces repeated clicks into one call', async () => {
    const { core, store } = setup();
    const gate = deferred<void>();
    core.holdSync = gate.promise;
    const a = store.getState().syncNow();
    const b = store.getState().syncNow();
    expect(b).toBe(a);
    gate.resolve();
    await Promise.all([a, b]);
    expect(core.syncCalls).toBe(1);
    core.holdSync = null;
    await store.getState().syncNow();
    expect(core.syncCalls).toBe(2);
  });

  it('a failed sync keeps the previous result, reports the code, and survives a good refresh', async () => {
    const { core, store } = setup();
    const first = await store.getState().syncNow();
    core.failSync = codedError('WRONG_PASSWORD', 'the vault password is wrong');
    await expect(store.getState().syncNow()).resolves.toBeNull();
    const state = store.getState();
    expect(state.syncing).toBe(false);
    expect(state.lastResult).toEqual(first);
    expect(state.error).toEqual({ code: 'WRONG_PASSWORD', message: 'the vault password is wrong', action: 'sync' });
    await store.getState().refresh();
    expect(store.getState().error?.code).toBe('WRONG_PASSWORD');
    core.failSync = null;
    await store.getState().syncNow();
    expect(store.getState().error).toBeNull();
  });

  it('applies statuses pushed by the core through onDidChangeStatus', async () => {
    const { core, transport, store } = setup();
    await store.getState().refresh();
    core.items = [...core.items, { path: 'commands/deploy.md', type: 'command', state: 'conflict' }];
    transport.emit('onDidChangeStatus', core.snapshot());
    expect(store.getState().status?.items.map((i) => i.path)).toContain('commands/deploy.md');
    expect(core.statusCalls).toBe(1);
  });

  it('drops a refresh answer that is older than a pushed status', async () => {
    const { core, transport, store } = setup();
    const gate = deferred<void>();
    core.holdStatus = gate.promise;
    const stale = store.getState().refresh(); // snapshot taken now: 3 items
    core.items = [{ path: 'CLAUDE.md', type: 'memory', state: 'synced' }];
    transport.emit('onDidChangeStatus', core.snapshot());
    gate.resolve();
    await stale;
    expect(store.getState().status?.items).toEqual([{ path: 'CLAUDE.md', type: 'memory', state: 'synced' }]);
    expect(store.getState().loading).toBe(false);
  });

  it('only the newest of overlapping refreshes wins; loading ends with the last one', async () => {
    const { core, store } = setup();
    const slow = deferred<void>();
    core.holdStatus = slow.promise;
    const first = store.getState().refresh();
    core.holdStatus = null;
    core.items = [];
    const second = store.getState().refresh();
    await second;
    expect(store.getState().loading).toBe(true);
    slow.resolve();
    await first;
    expect(store.getState().loading).toBe(false);
    expect(store.getState().status?.items).toEqual([]);
  });

  it('disconnect stops event delivery', async () => {
    const { core, transport, store, disconnect } = setup();
    expect(transport.listenerCount('onDidChangeStatus')).toBe(1);
    disconnect();
    expect(transport.listenerCount('onDidChangeStatus')).toBe(0);
    transport.emit('onDidChangeStatus', core.snapshot());
    expect(store.getState().status).toBeNull();
  });
});
