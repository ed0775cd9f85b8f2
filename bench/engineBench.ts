/**
 * Push/pull benchmarks through the real engine on a folder remote. Bundled and run by
 * bench/run.mjs; prints one JSON line per scenario.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startApacheDav } from '../core/test-support/apache';
import { startCephRgw } from '../core/test-support/ceph';
import { makeDevices } from '../core/test-support/vaultHarness';

interface Sample {
  scenario: string;
  /** RSS when the measured sync started (process, V8 heap, test setup). */
  baseRssMiB?: number;
  seconds: number;
  mbPerSec?: number;
  filesPerSec?: number;
  bytesUploaded: number;
  peakRssMiB: number;
}

let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const fh = await open(path, 'w');
  const block = 8 * 1024 * 1024;
  for (let done = 0; done < bytes; done += block) await fh.write(randomBytes(Math.min(block, bytes - done)));
  await fh.close();
}

export type RemoteKind = 'folder' | 'webdav' | 's3';

/** Starts the storage a scenario runs against (real servers on loopback for webdav and s3). */
async function startRemote(kind: RemoteKind, base: string): Promise<{ url: string; stop: () => Promise<void> }> {
  if (kind === 'folder') return { url: join(base, 'remote'), stop: async () => {} };
  if (kind === 'webdav') {
    const dav = await startApacheDav();
    return { url: `${dav.url}/vault`, stop: () => dav.stop() };
  }
  const ceph = await startCephRgw();
  process.env.AWS_ACCESS_KEY_ID = ceph.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = ceph.secretAccessKey;
  const client = new S3Client({ endpoint: ceph.endpoint, region: ceph.region, forcePathStyle: true, credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey } });
  await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  client.destroy();
  return { url: `s3://bench/vault?endpoint=${encodeURIComponent(ceph.endpoint)}&region=${ceph.region}`, stop: () => ceph.stop() };
}

async function scenario(name: string, kind: RemoteKind, fill: (root: string) => Promise<{ bytes: number; files: number }>, only: string | undefined): Promise<Sample[]> {
  if (only && !name.includes(only)) return [];
  const base = await mkdtemp(join(tmpdir(), 'ccsync-bench-'));
  const remote = await startRemote(kind, base);
  name = `${name} [${kind}]`;
  try {
    const [A, B] = await makeDevices(base, remote.url, 2);
    const { bytes, files } = await fill(A!.root);
    globalThis.gc?.();
    peakRss = process.memoryUsage.rss();
    const baseRss = peakRss;
    const t0 = performance.now();
    const push = await A!.sync();
    const pushS = (performance.now() - t0) / 1000;
    const pushRss = peakRss;
    const t1 = performance.now();
    const idle = await A!.sync();
    const idleS = (performance.now() - t1) / 1000;
    globalThis.gc?.();
    peakRss = process.memoryUsage.rss();
    const pullBase = peakRss;
    const t2 = performance.now();
    await B!.sync();
    const pullS = (performance.now() - t2) / 1000;
    const mb = bytes / 1e6;
    return [
      { scenario: `${name}: push`, seconds: pushS, mbPerSec: mb / pushS, filesPerSec: files / pushS, bytesUploaded: push.bytesUploaded, peakRssMiB: pushRss / 2 ** 20, baseRssMiB: baseRss / 2 ** 20 },
      { scenario: `${name}: no-change sync`, seconds: idleS, bytesUploaded: idle.bytesUploaded, peakRssMiB: pushRss / 2 ** 20 },
      { scenario: `${name}: pull`, seconds: pullS, mbPerSec: mb / pullS, filesPerSec: files / pullS, bytesUploaded: 0, peakRssMiB: peakRss / 2 ** 20, baseRssMiB: pullBase / 2 ** 20 },
    ];
  } finally {
    await remote.stop();
    await rm(base, { recursive: true, force: true });
  }
}

export const SCENARIOS = ['1 GiB random file', '5,000 small files'];

export async function runEngineBench(only?: string, kind: RemoteKind = 'folder'): Promise<Sample[]> {
  const out: Sample[] = [];
  out.push(
    ...(await scenario('1 GiB random file', kind, async (root) => {
      await writeRandomFile(join(root, 'big.bin'), 1024 ** 3);
      return { bytes: 1024 ** 3, files: 1 };
    }, only)),
  );
  out.push(
    ...(await scenario('5,000 small files', kind, async (root) => {
      let bytes = 0;
      for (let d = 0; d < 50; d++) {
        await mkdir(join(root, `skills/s${d}`), { recursive: true });
        for (let i = 0; i < 100; i++) {
          const text = `# Skill ${d}/${i}\n${randomBytes(600).toString('base64')}\n`;
          bytes += text.length;
          await writeFile(join(root, `skills/s${d}/f${i}.md`), text);
        }
      }
      return { bytes, files: 5000 };
    }, only)),
  );
  clearInterval(rssTimer);
  return out;
}

// Each scenario runs in its own process (bench/run.mjs), so one scenario's heap never inflates
// another's peak RSS.
if (process.argv[2] === '--scenario') {
  const rows = await runEngineBench(process.argv[3], (process.argv[4] ?? 'folder') as RemoteKind);
  for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
}
