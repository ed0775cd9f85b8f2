import { describe, expect, expectTypeOf, it } from 'vitest';
import { SERVICES, type SyncResultDto, type SyncService } from '../../../core/api/contract';
import { ServiceError } from './errors';
import { createMemoryTransport } from './memoryTransport';
import { createServiceProxy } from './proxy';
import type { Transport } from './transport';

const status = {
  device: { id: 'dev-1', name: 'laptop' },
  root: '/home/me/.claude',
  remote: 'webdav://example/vault',
  items: [{ path: 'CLAUDE.md', type: 'memory', state: 'synced' }],
  queue: 0,
  lastSync: null,
} as const;

const result: SyncResultDto = { pushed: 1, pulled: 2, conflicts: 0, bytesUploaded: 10, bytesDownloaded: 20, durationMs: 5 };

function codedError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

describe('createServiceProxy', () => {
  it('exposes exactly the methods SERVICES lists, so the contract alone defines the proxy', () => {
    const sync = createServiceProxy<SyncService>(createMemoryTransport({}), 'sync');
    expect(Object.keys(sync).sort()).toEqual([...SERVICES.sync].sort());
    for (const method of SERVICES.sync) expect(typeof sync[method]).toBe('function');
    // Type level: SERVICES.sync and SyncService name the same methods.
    expectTypeOf<(typeof SERVICES.sync)[number]>().toEqualTypeOf<keyof SyncService>();
  });

  it('routes calls with service, method and arguments, and returns the value', async () => {
    const transport = createMemoryTransport({ sync: { getStatus: async () => status, syncNow: async () => result } });
    const sync = createServiceProxy<SyncService>(transport, 'sync');
    await expect(sync.getStatus()).resolves.toEqual(status);
    await expect(sync.syncNow()).resolves.toEqual(result);
    expect(transport.calls).toEqual([
      { service: 'sync', method: 'getStatus', args: [] },
      { service: 'sync', method: 'syncNow', args: [] },
    ]);
  });

  it('passes arguments through the transport as an array', async () => {
    const seen: unknown[] = [];
    const transport: Transport = {
      invoke: async (service, method, args) => {
        seen.push([service, method, args]);
        return 42;
      },
      subscribe: () => () => {},
    };
    const svc = createServiceProxy<{ getStatus(a: number, b: string): Promise<number> }>(transport, 'sync');
    await expect(svc.getStatus(1, 'two')).resolves.toBe(42);
    expect(seen).toEqual([['sync', 'getStatus', [1, 'two']]]);
  });

  it('rethrows { code, message } errors as ServiceError with the code', async () => {
    const transport = createMemoryTransport({
      sync: {
        getStatus: async () => {
          throw codedError('NOT_INITIALIZED', 'run ccsync init first');
        },
        syncNow: async () => result,
      },
    });
    const sync = createServiceProxy<SyncService>(transport, 'sync');
    const error = await sync.getStatus().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'ServiceError', code: 'NOT_INITIALIZED', message: 'run ccsync init first' });
  });

  it('maps plain rejections and code-less errors to INTERNAL', async () => {
    const failing = (reason: unknown): Transport => ({
      invoke: () => Promise.reject(reason),
      subscribe: () => () => {},
    });
    await expect(createServiceProxy<SyncService>(failing(new Error('pipe closed')), 'sync').syncNow()).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'pipe closed',
    });
    await expect(createServiceProxy<SyncService>(failing('boom'), 'sync').syncNow()).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'boom',
    });
  });

  it('turns a transport that throws synchronously into a rejected promise', async () => {
    const transport: Transport = {
      invoke: () => {
        throw codedError('BUSY', 'a sync is running');
      },
      subscribe: () => () => {},
    };
    const pending = createServiceProxy<SyncService>(transport, 'sync').syncNow();
    await expect(pending).rejects.toMatchObject({ code: 'BUSY' });
  });

  it('is a plain frozen object (not thenable, cannot be patched)', () => {
    const sync = createServiceProxy<SyncService>(createMemoryTransport({}), 'sync');
    expect('then' in sync).toBe(false);
    expect(Object.isFrozen(sync)).toBe(true);
  });

  it('reports a method the core does not implement as USAGE', async () => {
    const sync = createServiceProxy<SyncService>(createMemoryTransport({ sync: { getStatus: async () => status } }), 'sync');
    await expect(sync.syncNow()).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('returns copies: results cross the transport by structured clone', async () => {
    const live = { ...status, items: [...status.items] };
    const sync = createServiceProxy<SyncService>(createMemoryTransport({ sync: { getStatus: async () => live } }), 'sync');
    const got = await sync.getStatus();
    expect(got).toEqual(live);
    expect(got).not.toBe(live);
  });
});
