import { describe, expect, it } from 'vitest';
import { CcsError } from '../../core/common/errors';
import { dispatch, toErrorDto, type ServiceTable } from './dispatch';

function services(sync: object): ServiceTable {
  return { sync };
}

describe('dispatch', () => {
  it('calls the method with its arguments and this bound to the service', async () => {
    class Sync {
      prefix = 'status:';
      async getStatus(...args: unknown[]): Promise<string> {
        return this.prefix + JSON.stringify(args);
      }
    }
    await expect(dispatch(services(new Sync()), 'sync', 'getStatus', [1, 'a'])).resolves.toEqual({ ok: true, value: 'status:[1,"a"]' });
  });

  it('rejects names outside SERVICES, including prototype keys', async () => {
    const sync = { getStatus: async () => 1, toString: () => 'x', constructor: () => 'x' };
    for (const [service, method] of [
      ['nope', 'getStatus'],
      ['__proto__', 'getStatus'],
      ['constructor', 'name'],
      ['sync', 'toString'],
      ['sync', 'constructor'],
      ['sync', '__proto__'],
      [42, 'getStatus'],
      ['sync', null],
    ] as const) {
      const result = await dispatch(services(sync), service, method, []);
      expect(result).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    }
  });

  it('requires an argument array', async () => {
    const sync = { getStatus: async () => 1 };
    await expect(dispatch(services(sync), 'sync', 'getStatus', { length: 0 })).resolves.toMatchObject({ ok: false, error: { code: 'USAGE' } });
    await expect(dispatch(services(sync), 'sync', 'getStatus', undefined)).resolves.toMatchObject({ ok: false, error: { code: 'USAGE' } });
  });

  it('reports a listed method the host lacks as USAGE, not a crash', async () => {
    await expect(dispatch(services({}), 'sync', 'syncNow', [])).resolves.toMatchObject({ ok: false, error: { code: 'USAGE' } });
  });

  it('carries the code of CcsError-like failures, sync or async', async () => {
    const coded = new CcsError('LOCKED', 'vault is locked');
    const sync = {
      getStatus: async () => {
        throw coded;
      },
      syncNow: () => {
        throw coded;
      },
    };
    await expect(dispatch(services(sync), 'sync', 'getStatus', [])).resolves.toEqual({ ok: false, error: { code: 'LOCKED', message: 'vault is locked' } });
    await expect(dispatch(services(sync), 'sync', 'syncNow', [])).resolves.toEqual({ ok: false, error: { code: 'LOCKED', message: 'vault is locked' } });
  });

  it('accepts a CcsError from another copy of core by name', () => {
    const foreign = Object.assign(new Error('busy'), { name: 'CcsError', code: 'BUSY' });
    expect(toErrorDto(foreign)).toEqual({ code: 'BUSY', message: 'busy' });
  });

  it('does not pass Node errno codes off as contract codes', () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x/lock'"), { code: 'ENOENT', errno: -2 });
    expect(toErrorDto(enoent)).toEqual({ code: 'INTERNAL', message: "ENOENT: no such file or directory, open '/x/lock'" });
  });

  it('maps everything else to INTERNAL', () => {
    expect(toErrorDto(new TypeError('bad'))).toEqual({ code: 'INTERNAL', message: 'bad' });
    expect(toErrorDto('text')).toEqual({ code: 'INTERNAL', message: 'text' });
    expect(toErrorDto(null)).toEqual({ code: 'INTERNAL', message: 'null' });
    expect(toErrorDto({ code: 7, message: 'm' })).toEqual({ code: 'INTERNAL', message: 'm' });
  });
});
