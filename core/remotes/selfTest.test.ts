import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApacheDav, type ApacheDav } from '../test-support/apache';
import { faultyFetch } from '../test-support/faultyFetch';
import { FolderRemote } from './folder/FolderRemote';
import { MemoryRemote } from './memory/MemoryRemote';
import type { PutOptions } from './remote';
import { remoteSelfTest, type SelfTestReport } from './selfTest';
import { openRemote } from './url';
import { WebDavRemote } from './webdav/WebDavRemote';

const STEPS = ['reach the store', 'write', 'read', 'read a range', 'list', 'conditional write', 'delete'];

function expectHealthy(report: SelfTestReport): void {
  expect(report.steps.map((s) => s.name)).toEqual(STEPS);
  for (const s of report.steps) {
    expect(s.ok, `${s.name}: ${s.detail}`).toBe(true);
    expect(s.ms).toBeGreaterThanOrEqual(0);
    expect(s.detail.length).toBeGreaterThan(0);
  }
  expect(report.ok).toBe(true);
}

let dav: ApacheDav;
beforeAll(async () => {
  dav = await startApacheDav();
});
afterAll(async () => {
  await dav?.stop();
});

describe('remoteSelfTest', () => {
  it('passes on a memory remote and leaves nothing behind', async () => {
    const remote = new MemoryRemote();
    const report = await remoteSelfTest(remote);
    expectHealthy(report);
    expect(report.conditionalWrites).toBe('enforced');
    expect(report.remote).toBe('mem://memory');
    expect(remote.names()).toEqual([]);
  });

  it('passes on a folder remote and removes its probe object', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ccs-selftest-'));
    const remote = new FolderRemote(path.join(dir, 'store'));
    await remote.create();
    const report = await remoteSelfTest(remote);
    expectHealthy(report);
    expect(report.conditionalWrites).toBe('enforced');
    expect(await remote.list('')).toEqual([]);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('passes on Apache WebDAV, opened like the CLI opens it, with conditional writes enforced', async () => {
    const url = `${dav.url}/selftest-${randomBytes(4).toString('hex')}`;
    const remote = openRemote(url);
    await remote.create();
    const report = await remoteSelfTest(remote);
    expectHealthy(report);
    expect(report.conditionalWrites).toBe('enforced');
    expect(report.remote).not.toContain(dav.password);
    expect(await remote.list('')).toEqual([]);
  });

  it('says "emulated" on a WebDAV server without locks', async () => {
    const remote = new WebDavRemote(`${dav.url}/selftest-${randomBytes(4).toString('hex')}`, {
      fetch: faultyFetch({ noLocks: true, ignoreIfNoneMatch: true }),
    });
    await remote.create();
    const report = await remoteSelfTest(remote);
    expectHealthy(report);
    expect(report.conditionalWrites).toBe('emulated');
    expect(report.steps.find((s) => s.name === 'conditional write')!.detail).toMatch(/not atomically/);
  });

  it('reports wrong credentials in the first step and skips the rest', async () => {
    const report = await remoteSelfTest(openRemote(`webdav+http://${dav.user}:nope@127.0.0.1:${dav.port}/dav`));
    expect(report.ok).toBe(false);
    expect(report.steps[0]).toMatchObject({ name: 'reach the store', ok: false });
    expect(report.steps[0]!.detail).toMatch(/authentication failed/);
    expect(report.steps.slice(1).map((s) => [s.name, s.ok, s.detail])).toEqual(
      STEPS.slice(1).map((n) => [n, false, 'skipped: an earlier step failed']),
    );
    expect(report.conditionalWrites).toBe('unknown');
  });

  it('reports an unreachable memory remote without throwing', async () => {
    const remote = new MemoryRemote();
    remote.offline = true;
    const report = await remoteSelfTest(remote);
    expect(report.ok).toBe(false);
    expect(report.steps[0]!.detail).toMatch(/offline/);
  });

  it('catches a store that ignores createOnly, and still cleans up', async () => {
    class Careless extends MemoryRemote {
      override put(name: string, data: Uint8Array, _options?: PutOptions): Promise<void> {
        return super.put(name, data);
      }
    }
    const remote = new Careless();
    const report = await remoteSelfTest(remote);
    expect(report.ok).toBe(false);
    expect(report.conditionalWrites).toBe('unsupported');
    const step = report.steps.find((s) => s.name === 'conditional write')!;
    expect(step.ok).toBe(false);
    expect(step.detail).toMatch(/replaced an existing object/);
    expect(report.steps.find((s) => s.name === 'delete')!.ok).toBe(true);
    expect(remote.names()).toEqual([]);
  });

  it('catches a store that returns wrong bytes', async () => {
    class Lossy extends MemoryRemote {
      override async get(name: string): Promise<Buffer> {
        const b = await super.get(name);
        return b.subarray(0, b.length - 1);
      }
    }
    const report = await remoteSelfTest(new Lossy());
    expect(report.ok).toBe(false);
    expect(report.steps.find((s) => s.name === 'read')).toMatchObject({ ok: false });
  });
});
