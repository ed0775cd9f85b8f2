import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isCcsError } from '../../common/errors';
import { startCephRgw, type CephRgw } from '../../test-support/ceph';
import { remoteConformance } from '../../test-support/remoteConformance';
import { JsonFileMultipartStateStore, MemoryMultipartStateStore } from './multipartState';
import { createS3Client } from './s3Client';
import { openS3Remote, S3Remote, type S3RemoteOptions } from './S3Remote';
import { formatS3Url, type S3Location } from './s3Url';

// One Ceph cluster for the whole file: starting it is the slow part. Without the Ceph packages
// beforeAll fails, and with it every test here, naming the packages to install.
const BUCKET = 'ccsync-test';
const MiB = 1024 * 1024;

let ceph: CephRgw | undefined;
let admin: S3Client;
let prefixes = 0;

beforeAll(async () => {
  ceph = await startCephRgw();
  console.info(`Ceph RADOS Gateway up at ${ceph.endpoint} after ${ceph.startupMs} ms`);
  admin = new S3Client({
    endpoint: ceph.endpoint,
    region: ceph.region,
    forcePathStyle: true,
    credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
  });
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 120_000);

afterAll(async () => {
  admin?.destroy();
  await ceph?.stop();
}, 60_000);

function gateway(): CephRgw {
  if (!ceph) throw new Error('Ceph did not start (see the beforeAll failure)');
  return ceph;
}

function freshPrefix(): string {
  return `t${process.pid}-${++prefixes}`;
}

function location(prefix: string, over: Partial<S3Location> = {}): S3Location {
  return { bucket: BUCKET, prefix, endpoint: gateway().endpoint, region: gateway().region, forcePathStyle: true, ...over };
}

function credentials(): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: gateway().accessKeyId, secretAccessKey: gateway().secretAccessKey };
}

function s3Remote(prefix = freshPrefix(), options: S3RemoteOptions = {}, over: Partial<S3Location> = {}): S3Remote {
  return new S3Remote(location(prefix, over), { credentials: credentials(), ...options });
}

async function emptyStore(remote: S3Remote): Promise<void> {
  const objects = await remote.list('');
  await inParallel(objects, 32, (o) => remote.delete(o.name));
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (e === undefined) throw new Error('expected a failure, but the call succeeded');
  return { code: isCcsError(e) ? e.code : `non-CcsError ${String(e)}`, message: (e as Error).message };
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

remoteConformance('s3 (ceph rgw)', async () => {
  const remote = s3Remote();
  await remote.create();
  return {
    remote,
    cleanup: async () => {
      await emptyStore(remote);
      remote.destroy();
    },
  };
});

describe('S3Remote against Ceph', () => {
  const opened: S3Remote[] = [];
  const open = (...args: Parameters<typeof s3Remote>): S3Remote => {
    const r = s3Remote(...args);
    opened.push(r);
    return r;
  };

  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const r of opened.splice(0)) r.destroy();
  });

  describe('store errors', () => {
    it('a missing bucket is REMOTE_NOT_FOUND, saying it must exist and is not created', async () => {
      const remote = open(freshPrefix(), {}, { bucket: 'no-such-bucket-here' });
      for (const attempt of [() => remote.check(), () => remote.create()]) {
        const f = await failure(attempt());
        expect(f.code).toBe('REMOTE_NOT_FOUND');
        expect(f.message).toContain('no-such-bucket-here');
        expect(f.message).toMatch(/must exist/);
        expect(f.message).toMatch(/does not create buckets/);
      }
      // Never "no objects": every operation reports the missing bucket.
      for (const attempt of [
        () => remote.stat('config'),
        () => remote.get('config'),
        () => remote.getRange('config', 0, 1),
        () => remote.getRange('config', 0, 0),
        () => remote.list(''),
        () => remote.put('config', Buffer.from('x')),
        () => remote.put('config', Buffer.alloc(2 * MiB), { createOnly: true }),
        () => remote.delete('config'),
      ]) {
        expect((await failure(attempt())).code).toBe('REMOTE_NOT_FOUND');
      }
    });

    it.each([
      ['a wrong secret key', () => ({ accessKeyId: gateway().accessKeyId, secretAccessKey: 'wrong-secret-0123456789' })],
      ['an unknown access key', () => ({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'wrong-secret-0123456789' })],
    ])('%s is a clear authentication failure without the secret in it', async (_label, creds) => {
      const remote = open(freshPrefix(), { credentials: creds() });
      for (const attempt of [
        () => remote.check(),
        () => remote.get('config'),
        () => remote.stat('config'),
        () => remote.list(''),
        () => remote.put('config', Buffer.from('x')),
      ]) {
        const f = await failure(attempt());
        expect(f.code).toBe('REMOTE_UNREACHABLE');
        expect(f.message).toMatch(/authentication failed/);
        expect(f.message).not.toContain('wrong-secret');
      }
    });

    it('a server that is down is REMOTE_UNREACHABLE, quickly, naming the endpoint', async () => {
      const endpoint = `http://127.0.0.1:${await freePort()}`;
      const remote = open(freshPrefix(), {}, { endpoint });
      const started = Date.now();
      for (const attempt of [
        () => remote.check(),
        () => remote.get('config'),
        () => remote.stat('config'),
        () => remote.put('config', Buffer.from('x')),
      ]) {
        const f = await failure(attempt());
        expect(f.code).toBe('REMOTE_UNREACHABLE');
        expect(f.message).toContain(endpoint);
      }
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('takes credentials from the standard AWS environment variables', async () => {
      vi.stubEnv('AWS_ACCESS_KEY_ID', gateway().accessKeyId);
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', gateway().secretAccessKey);
      const remote = openS3Remote(formatS3Url(location(freshPrefix())));
      opened.push(remote);
      await remote.check();
      await remote.put('config', Buffer.from('from env'));
      expect((await remote.get('config')).toString()).toBe('from env');
      await remote.delete('config');
    });

    it('the description names bucket, prefix and endpoint', () => {
      const remote = open('p/q');
      expect(remote.description).toBe(`s3://${BUCKET}/p/q at ${gateway().endpoint}`);
    });
  });

  describe('conditional writes', () => {
    it('the server itself enforces If-None-Match: * (412), which createOnly relies on', async () => {
      const prefix = freshPrefix();
      const remote = open(prefix);
      await remote.put('log/0001', Buffer.from('first'), { createOnly: true });
      const key = `${prefix}/log/0001`;
      const raw = await admin
        .send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from('second'), IfNoneMatch: '*' }))
        .then(
          () => undefined,
          (e: unknown) => e as { name?: string; $metadata?: { httpStatusCode?: number } },
        );
      expect(raw?.$metadata?.httpStatusCode).toBe(412);
      expect((await failure(remote.put('log/0001', Buffer.from('third'), { createOnly: true }))).code).toBe(
        'ALREADY_EXISTS',
      );
      expect((await remote.get('log/0001')).toString()).toBe('first');
    });
  });

  describe('listing', () => {
    it('pages through more than 1,000 objects (ListObjectsV2 returns at most 1,000 per page)', async () => {
      const prefix = freshPrefix();
      const client = createS3Client(location(prefix), { credentials: credentials() });
      let listCalls = 0;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'ListObjectsV2Command') listCalls++;
          return next(args);
        },
        { step: 'initialize' },
      );
      const remote = open(prefix, { client });
      const names = Array.from({ length: 2_345 }, (_, i) => `data/${(i % 16).toString(16)}0/o${i}`);
      await inParallel(names, 64, (n) => remote.put(n, Buffer.from(n)));
      listCalls = 0;
      const listed = await remote.list('');
      expect(listCalls).toBe(3);
      expect(listed.map((o) => o.name).sort()).toEqual([...names].sort());
      expect(listed.every((o) => o.size === o.name.length)).toBe(true);
      expect((await remote.list('data/a')).length).toBe(names.filter((n) => n.startsWith('data/a')).length);
      await emptyStore(remote);
      client.destroy();
    }, 120_000);

    it('ignores keys under the prefix that are not object names', async () => {
      const prefix = freshPrefix();
      const remote = open(prefix);
      await remote.put('data/ok', Buffer.from('1'));
      for (const foreign of ['data/UPPER', 'data/with space', 'data//double']) {
        await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${foreign}`, Body: Buffer.from('f') }));
      }
      expect(await remote.list('data/')).toEqual([{ name: 'data/ok', size: 1 }]);
    });
  });

  describe('multipart uploads', () => {
    const crash = (afterParts: number) => (confirmed: number) => {
      if (confirmed === afterParts) throw new Error(`simulated crash after ${afterParts} parts`);
    };

    async function uploadsUnder(prefix: string): Promise<number> {
      const res = await admin.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: `${prefix}/` }));
      return res.Uploads?.length ?? 0;
    }

    it('a 256 MiB upload resumes after a crash without re-sending confirmed parts', async () => {
      const size = 256 * MiB;
      const partSize = 8 * MiB;
      const totalParts = size / partSize;
      const crashAfter = 11;
      const prefix = freshPrefix();
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ccs-s3-state-'));
      const stateFile = path.join(dir, 'multipart.json');
      let data: Buffer | undefined = randomBytes(size);
      const want = createHash('sha256').update(data).digest('hex');

      let sentBeforeCrash = 0;
      const first = open(prefix, {
        multipart: {
          partSize,
          stateStore: new JsonFileMultipartStateStore(stateFile),
          hooks: { onPartSent: () => sentBeforeCrash++, onPartConfirmed: crash(crashAfter) },
        },
      });
      const f = await failure(first.put('packs/big', data));
      expect(f.message).toContain(`simulated crash after ${crashAfter} parts`);
      expect(await first.stat('packs/big')).toBeNull();
      expect(await uploadsUnder(prefix)).toBe(1);

      // A new process: a new remote and a new store instance on the same file.
      const sent: number[] = [];
      const store = new JsonFileMultipartStateStore(stateFile);
      const [stateKey] = await store.keys();
      expect((await store.load(stateKey!))?.parts).toHaveLength(crashAfter);
      const second = open(prefix, { multipart: { partSize, stateStore: store, hooks: { onPartSent: (n) => sent.push(n) } } });
      await second.put('packs/big', data);
      expect(sent).toHaveLength(totalParts - crashAfter);
      const confirmedFirst = new Set(Array.from({ length: totalParts }, (_, i) => i + 1).filter((n) => !sent.includes(n)));
      expect(confirmedFirst.size).toBe(crashAfter);
      expect(sentBeforeCrash).toBeGreaterThanOrEqual(crashAfter);
      expect(await store.keys()).toEqual([]);
      expect(await uploadsUnder(prefix)).toBe(0);

      // Read back in slices, so the test never holds more than the source and one slice.
      data = undefined;
      expect(await second.stat('packs/big')).toEqual({ name: 'packs/big', size });
      const hash = createHash('sha256');
      for (let off = 0; off < size; off += 32 * MiB) hash.update(await second.getRange('packs/big', off, 32 * MiB));
      expect(hash.digest('hex')).toBe(want);
      await second.delete('packs/big');
      await fs.rm(dir, { recursive: true, force: true });
    }, 120_000);

    it('a recorded part the server does not confirm is sent again', async () => {
      const partSize = 5 * MiB;
      const data = randomBytes(5 * partSize);
      const prefix = freshPrefix();
      const store = new MemoryMultipartStateStore();
      const first = open(prefix, {
        multipart: { threshold: MiB, partSize, concurrency: 1, stateStore: store, hooks: { onPartConfirmed: crash(3) } },
      });
      await failure(first.put('packs/p', data));
      const [key] = store.keys();
      const state = (await store.load(key!))!;
      expect(state.parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
      // Part 2's record no longer matches what the server holds.
      state.parts[1]!.etag = '"00000000000000000000000000000000"';
      await store.save(key!, state);

      const sent: number[] = [];
      const second = open(prefix, {
        multipart: { threshold: MiB, partSize, stateStore: store, hooks: { onPartSent: (n) => sent.push(n) } },
      });
      await second.put('packs/p', data);
      expect(sent.sort((a, b) => a - b)).toEqual([2, 4, 5]);
      expect((await second.get('packs/p')).equals(data)).toBe(true);
    }, 60_000);

    it('starts over when the recorded upload was aborted meanwhile', async () => {
      const partSize = 5 * MiB;
      const data = randomBytes(4 * partSize + 123);
      const prefix = freshPrefix();
      const store = new MemoryMultipartStateStore();
      const first = open(prefix, {
        multipart: { threshold: MiB, partSize, concurrency: 1, stateStore: store, hooks: { onPartConfirmed: crash(2) } },
      });
      await failure(first.put('packs/q', data));
      expect(await uploadsUnder(prefix)).toBe(1);

      // Just started: an hour's threshold leaves it alone.
      expect(await first.abortStaleUploads(60 * 60 * 1000)).toBe(0);
      expect(await uploadsUnder(prefix)).toBe(1);
      // Initiated times have whole-second resolution on Ceph.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await first.abortStaleUploads(0)).toBe(1);
      expect(await uploadsUnder(prefix)).toBe(0);

      const sent: number[] = [];
      const second = open(prefix, {
        multipart: { threshold: MiB, partSize, stateStore: store, hooks: { onPartSent: (n) => sent.push(n) } },
      });
      await second.put('packs/q', data);
      expect(sent).toHaveLength(5);
      expect(store.keys()).toEqual([]);
      expect((await second.get('packs/q')).equals(data)).toBe(true);
    }, 60_000);

    it('abortStaleUploads only touches uploads under its own prefix', async () => {
      const mine = freshPrefix();
      const other = freshPrefix();
      for (const p of [mine, other]) {
        await admin.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${p}/packs/x` }));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await open(mine).abortStaleUploads(0)).toBe(1);
      expect(await uploadsUnder(mine)).toBe(0);
      expect(await uploadsUnder(other)).toBe(1);
      expect(await open(other).abortStaleUploads(0)).toBe(1);
    });

    it('createOnly stays a single conditional PUT even above the multipart threshold', async () => {
      const data = randomBytes(6 * MiB);
      const sent: number[] = [];
      const remote = open(freshPrefix(), {
        multipart: { threshold: MiB, partSize: 5 * MiB, hooks: { onPartSent: (n) => sent.push(n) } },
      });
      await remote.put('log/big', data, { createOnly: true });
      expect((await failure(remote.put('log/big', data, { createOnly: true }))).code).toBe('ALREADY_EXISTS');
      expect(sent).toEqual([]);
      expect((await remote.get('log/big')).equals(data)).toBe(true);
    });
  });
});
