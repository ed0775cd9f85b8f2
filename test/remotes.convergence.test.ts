import { mkdir, writeFile, appendFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApacheDav, type ApacheDav } from '../core/test-support/apache';
import { startCephRgw, type CephRgw } from '../core/test-support/ceph';
import { makeDevices, readTree, tempDir, treesEqual, type TestDevice } from '../core/test-support/vaultHarness';
import { FolderRemote } from '../core/remotes/folder/FolderRemote';
import { FaultyRemote } from '../core/remotes/wrappers/FaultyRemote';
import { RetryingRemote } from '../core/remotes/wrappers/RetryingRemote';
import { isCcsError } from '../core/common/errors';
import { decryptObject } from '../core/crypto/stream';

// The foundation's two-device scenario over real network storage (Apache mod_dav, Ceph RGW),
// and a 3-device sync through a remote that fails, truncates, stalls and serves stale listings.

async function twoDeviceScenario(devices: TestDevice[]): Promise<void> {
  const [A, B] = devices as [TestDevice, TestDevice];
  await mkdir(join(A.root, 'skills/review'), { recursive: true });
  await writeFile(join(A.root, 'skills/review/SKILL.md'), '# Review\n');
  await writeFile(join(A.root, 'settings.json'), '{\n  "model": "opus"\n}\n');
  await writeFile(join(A.root, 'CLAUDE.md'), '# Memory\n\n## A\none\n\n## B\ntwo\n');
  await A.sync();
  await B.sync();
  await appendFile(join(A.root, 'skills/review/SKILL.md'), 'from A\n');
  await mkdir(join(B.root, 'agents'), { recursive: true });
  await writeFile(join(B.root, 'agents/planner.md'), 'plan');
  await writeFile(join(B.root, 'CLAUDE.md'), '# Memory\n\n## A\none\n\n## B\ntwo, edited on B\n');
  for (let round = 0; round < 2; round++) for (const d of [A, B]) await d.sync();
  const ta = await readTree(A.root);
  expect(treesEqual(ta, await readTree(B.root))).toBe(true);
  expect(ta.get('agents/planner.md')?.toString()).toBe('plan');
  expect(ta.get('skills/review/SKILL.md')?.toString()).toBe('# Review\nfrom A\n');
}

describe('two devices over WebDAV (Apache mod_dav)', () => {
  let dav: ApacheDav;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dav = await startApacheDav();
    dir = await tempDir();
  });
  afterAll(async () => {
    await dav?.stop();
    await dir?.cleanup();
  });

  it('init, join, edits on both, two syncs each → identical trees', async () => {
    await twoDeviceScenario(await makeDevices(dir.path, `${dav.url}/vault`, 2));
  });
});

describe('two devices over S3 (Ceph RADOS Gateway)', () => {
  let ceph: CephRgw;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    ceph = await startCephRgw();
    process.env.AWS_ACCESS_KEY_ID = ceph.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = ceph.secretAccessKey;
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ endpoint: ceph.endpoint, region: ceph.region, forcePathStyle: true, credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey } });
    await client.send(new CreateBucketCommand({ Bucket: 'ccsync' }));
    client.destroy();
    dir = await tempDir();
  }, 120_000);
  afterAll(async () => {
    await ceph?.stop();
    await dir?.cleanup();
  });

  it('init, join, edits on both, two syncs each → identical trees', async () => {
    await twoDeviceScenario(await makeDevices(dir.path, `s3://ccsync/vault?endpoint=${encodeURIComponent(ceph.endpoint)}&region=${ceph.region}`, 2));
  });
});

describe('three devices through a faulty remote', () => {
  it('converges with no lost or corrupted file while ≥10% of requests fail in every network fault mode', { timeout: 300_000 }, async () => {
    const dir = await tempDir();
    const remoteDir = join(dir.path, 'remote');
    const devices = await makeDevices(dir.path, remoteDir, 3);
    const faulty: FaultyRemote[] = [];
    devices.forEach((d, i) => {
      d.wrapRemote = () => {
        const f = new FaultyRemote(new FolderRemote(remoteDir), {
          seed: 1000 * i + faulty.length,
          probability: { fail: 0.1, lostResponse: 0.1, dropMidBody: 0.1, truncate: 0.1, stall: 0.1, staleList: 0.1 },
          stallMs: 5,
          staleMs: 200,
        });
        faulty.push(f);
        return new RetryingRemote(f, { baseDelayMs: 1, maxDelayMs: 10, attempts: 8 });
      };
    });
    const expected = new Map<string, string>();
    let failures = 0;
    const syncUntilOk = async (d: TestDevice) => {
      for (let attempt = 0; attempt < 30; attempt++) {
        try {
          await d.sync();
          return;
        } catch (e) {
          // A sync may give up on a bad connection; it must then leave everything intact and retry cleanly.
          expect(isCcsError(e), String(e)).toBe(true);
          failures++;
        }
      }
      throw new Error('a sync never succeeded through the faulty remote');
    };
    for (let step = 0; step < 12; step++) {
      const d = devices[step % 3]!;
      const path = `commands/c${step}.md`;
      await mkdir(join(d.root, 'commands'), { recursive: true });
      const content = `command ${step}\n`.repeat(1 + step * 50);
      await writeFile(join(d.root, path), content);
      expected.set(path, content);
      if (step === 6) {
        await rm(join(devices[0]!.root, 'commands/c0.md'), { force: true });
        expected.delete('commands/c0.md');
      }
      await syncUntilOk(d);
    }
    for (let round = 0; round < 3; round++) for (const d of devices) await syncUntilOk(d);
    const trees = await Promise.all(devices.map((d) => readTree(d.root)));
    for (const t of trees) {
      expect(treesEqual(t, trees[0]!)).toBe(true);
      expect(new Map([...t].map(([k, v]) => [k, v.toString()]))).toEqual(expected);
    }
    const total = faulty.reduce((acc, f) => {
      for (const [k, v] of Object.entries(f.injected)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {} as Record<string, number>);
    console.log(`faults injected: ${JSON.stringify(total)}; syncs that gave up and were retried: ${failures}`);
    for (const mode of ['fail', 'lostResponse', 'dropMidBody', 'truncate', 'stall', 'staleList']) expect(total[mode]).toBeGreaterThan(0);
    await dir.cleanup();
  });

  it('every bit flipped at rest is detected; the reader’s files stay untouched', { timeout: 120_000 }, async () => {
    const dir = await tempDir();
    const remoteDir = join(dir.path, 'remote');
    const [A, B] = await makeDevices(dir.path, remoteDir, 2);
    await writeFile(join(A!.root, 'base.md'), 'base');
    await A!.sync();
    await writeFile(join(B!.root, 'mine.md'), 'B keeps this');
    await B!.sync();
    // A writes through a store that flips one bit of every object it stores.
    const f = new FaultyRemote(new FolderRemote(remoteDir), { seed: 7, probability: { bitFlip: 1 } });
    A!.wrapRemote = () => f;
    for (let i = 0; i < 8; i++) await writeFile(join(A!.root, `f${i}.md`), `file ${i}\n`.repeat(2000));
    await A!.sync();
    expect(f.flipped.size).toBeGreaterThanOrEqual(3); // pack(s), log entry, head
    const before = await readTree(B!.root);
    await expect(B!.sync()).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    expect(treesEqual(before, await readTree(B!.root))).toBe(true);
    // Each flipped object, read on its own, fails authentication.
    const s = await B!.session();
    try {
      for (const name of f.flipped) {
        const err = await s.remote.get(name).then((b) => {
          try {
            decryptObject(b, name, (e) => s.keys.epochs.get(e));
            return null;
          } catch (e) {
            return e;
          }
        });
        expect(isCcsError(err, 'OBJECT_CORRUPT'), `${name}: ${String(err)}`).toBe(true);
      }
    } finally {
      s.close();
    }
    await dir.cleanup();
  });
});
