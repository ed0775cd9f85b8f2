import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApacheDav, type ApacheDav } from '../core/test-support/apache';
import { runCli, tempDir } from '../core/test-support/vaultHarness';

describe('ccsync remote test', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let dav: ApacheDav;
  beforeAll(async () => {
    dir = await tempDir();
    dav = await startApacheDav();
  });
  afterAll(async () => {
    await dav?.stop();
    await dir?.cleanup();
  });

  it('reports every step for a folder and for WebDAV, with conditional-write support', async () => {
    await mkdir(join(dir.path, 'store'));
    const folder = await runCli(['remote', 'test', join(dir.path, 'store'), '--json']);
    expect(folder.code, folder.stderr).toBe(0);
    const r = JSON.parse(folder.stdout);
    expect(r.ok).toBe(true);
    expect(r.steps.map((s: { name: string }) => s.name)).toEqual(['reach the store', 'write', 'read', 'read a range', 'list', 'conditional write', 'delete']);
    expect(r.conditionalWrites).toBe('enforced');
    const webdav = await runCli(['remote', 'test', dav.url, '--json']);
    expect(webdav.code, webdav.stderr).toBe(0);
    expect(JSON.parse(webdav.stdout).conditionalWrites).toBe('enforced');
    expect(webdav.stdout).not.toContain(dav.password);
  });

  it('a missing folder, wrong credentials and a server that is down fail with a clear report and exit 1', async () => {
    const missing = await runCli(['remote', 'test', join(dir.path, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/does not exist/);
    const bad = await runCli(['remote', 'test', dav.url.replace(`:${dav.password}@`, ':wrong@')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/authentication failed/);
  });
});
