import fs from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCephRgw } from './ceph';

// Starting a real cluster is covered by the S3 remote tests, which share one; this covers the
// machine without Ceph, where those tests must fail loudly rather than skip.
describe('startCephRgw without Ceph installed', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('fails naming the missing programs and the packages to install, leaving nothing behind', async () => {
    const mkdtemp = vi.spyOn(fs, 'mkdtemp');
    vi.stubEnv('PATH', '/nonexistent');
    const err = await startCephRgw().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/ceph-mon.*not installed/);
    expect(err?.message).toContain('apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common');
    expect(mkdtemp).not.toHaveBeenCalled();
  });
});
