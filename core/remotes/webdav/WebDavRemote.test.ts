import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCcsError } from '../../common/errors';
import { startApacheDav, type ApacheDav } from '../../test-support/apache';
import { faultyFetch } from '../../test-support/faultyFetch';
import { remoteConformance } from '../../test-support/remoteConformance';
import { openRemote } from '../url';
import { RetryingRemote } from '../wrappers/RetryingRemote';
import { isTransient } from '../wrappers/transient';
import type { FetchLike } from './davHttp';
import { WebDavRemote, type WebDavOptions } from './WebDavRemote';

// No skip when Apache is missing: startApacheDav throws with an install hint, failing every test.
let dav: ApacheDav;
beforeAll(async () => {
  dav = await startApacheDav();
});
afterAll(async () => {
  await dav?.stop();
});

async function freshStore(options?: WebDavOptions, sub = `t-${randomBytes(6).toString('hex')}`) {
  const remote = new WebDavRemote(`${dav.url}/${sub}`, options);
  await remote.create();
  const dir = path.join(dav.root, decodeURIComponent(sub));
  return { remote, sub, dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

remoteConformance('webdav (apache mod_dav)', async () => {
  const { remote, cleanup } = await freshStore();
  return { remote, cleanup };
});

function raw(method: string, urlPath: string, headers: Record<string, string> = {}, body?: string): Promise<Response> {
  const authorization = `Basic ${Buffer.from(`${dav.user}:${dav.password}`).toString('base64')}`;
  return fetch(`${dav.httpUrl}/${urlPath}`, { method, headers: { authorization, ...headers }, body });
}

const LOCK_XML =
  '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>' +
  '<D:locktype><D:write/></D:locktype><D:owner>someone else</D:owner></D:lockinfo>';

async function foreignLock(urlPath: string): Promise<string> {
  const res = await raw('LOCK', urlPath, { depth: '0', timeout: 'Second-60' }, LOCK_XML);
  await res.arrayBuffer();
  expect(res.status).toBeLessThan(300);
  return res.headers.get('lock-token')!;
}

async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (e === undefined) throw new Error('expected a failure');
  return e as Error & { code?: string };
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('WebDavRemote on Apache', () => {
  it('the test server fails loudly when Apache is not installed, instead of skipping', async () => {
    await expect(startApacheDav({ binaries: ['/nonexistent/apache2'] })).rejects.toThrow(
      /Apache httpd is not installed .*apt-get install -y apache2/,
    );
  });

  it('describes itself without credentials', async () => {
    const { remote, sub, cleanup } = await freshStore();
    expect(remote.description).toBe(`${dav.bareUrl}/${sub}`);
    expect(remote.description).not.toContain(dav.password);
    expect(remote.description).not.toContain(dav.user);
    await cleanup();
  });

  it('wrong credentials: a clear authentication error at once, not retried, without the password', async () => {
    const counting = faultyFetch();
    const sleeps: number[] = [];
    const url = `webdav+http://${dav.user}:wrong-${dav.password}@127.0.0.1:${dav.port}/dav`;
    const remote = new RetryingRemote(new WebDavRemote(url, { fetch: counting }), { sleep: async (ms) => void sleeps.push(ms) });
    for (const call of [() => remote.check(), () => remote.get('config'), () => remote.put('config', Buffer.from('x')), () => remote.list('')]) {
      const err = await failure(call());
      expect(err.code).toBe('REMOTE_UNREACHABLE');
      expect(err.message).toMatch(/authentication failed \(HTTP 401 Unauthorized\); check the user name and password/);
      expect(err.message).toContain(`127.0.0.1:${dav.port}`);
      expect(err.message).not.toContain(dav.password);
      expect(err.message).not.toContain(dav.user);
      expect(isTransient(err)).toBe(false);
    }
    expect(counting.requests).toHaveLength(4);
    expect(sleeps).toEqual([]);
    // No credentials at all is the same story.
    expect((await failure(new WebDavRemote(dav.bareUrl).check())).message).toMatch(/authentication failed/);
  });

  it('takes credentials from CCSYNC_WEBDAV_USER / CCSYNC_WEBDAV_PASSWORD', async () => {
    const sub = `env-${randomBytes(4).toString('hex')}`;
    const remote = new WebDavRemote(`${dav.bareUrl}/${sub}`, {
      env: { CCSYNC_WEBDAV_USER: dav.user, CCSYNC_WEBDAV_PASSWORD: dav.password },
    });
    await remote.create();
    await remote.put('config', Buffer.from('from env'));
    expect(await remote.get('config')).toEqual(Buffer.from('from env'));
    await fs.rm(path.join(dav.root, sub), { recursive: true, force: true });
  });

  it('a server that is down: REMOTE_UNREACHABLE naming host:port, quickly, through the retrying wrapper', async () => {
    const t0 = performance.now();
    const other = await startApacheDav();
    expect(performance.now() - t0).toBeLessThan(1000);
    const url = `${other.url}/store`;
    await openRemote(url).create();
    await other.stop();
    // Every Apache process is gone.
    expect(() => process.kill(-other.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));

    const remote = openRemote(url);
    const t1 = performance.now();
    for (const call of [() => remote.check(), () => remote.get('config'), () => remote.put('data/x', Buffer.from('x')), () => remote.list('data/')]) {
      const err = await failure(call());
      expect(err.code).toBe('REMOTE_UNREACHABLE');
      expect(err.message).toContain(`cannot connect to 127.0.0.1:${other.port}: connection refused`);
      expect(err.message).not.toContain(other.password);
    }
    expect(performance.now() - t1).toBeLessThan(2000);
  });

  it('a missing store is REMOTE_NOT_FOUND for every call, and put does not create it', async () => {
    const sub = `missing-${randomBytes(4).toString('hex')}/deeper`;
    const remote = new WebDavRemote(`${dav.url}/${sub}`);
    const err = await failure(remote.check());
    expect(err.code).toBe('REMOTE_NOT_FOUND');
    expect(err.message).toBe(`${dav.bareUrl}/${sub} does not exist on the server`);
    for (const call of [
      () => remote.list(''),
      () => remote.list('data/'),
      () => remote.list('data/0'),
      () => remote.get('config'),
      () => remote.getRange('packs/p', 0, 1),
      () => remote.getRange('packs/p', 0, 0),
      () => remote.stat('config'),
      () => remote.delete('config'),
      () => remote.put('config', Buffer.from('x')),
      () => remote.put('data/00/x', Buffer.from('x')),
      () => remote.put('log/1', Buffer.from('x'), { createOnly: true }),
    ]) {
      expect((await failure(call())).code).toBe('REMOTE_NOT_FOUND');
    }
    await expect(fs.stat(path.join(dav.root, sub.split('/')[0]!))).rejects.toMatchObject({ code: 'ENOENT' });
    // create() makes the missing parents too.
    await remote.create();
    await remote.put('data/00/x', Buffer.from('x'));
    expect(await remote.list('')).toEqual([{ name: 'data/00/x', size: 1 }]);
    await fs.rm(path.join(dav.root, sub.split('/')[0]!), { recursive: true, force: true });
  });

  it('works under a base path that needs percent-encoding', async () => {
    const { remote, cleanup } = await freshStore(undefined, `my%20store%2B${randomBytes(3).toString('hex')}`);
    await remote.put('data/ab/p', Buffer.from('pack'));
    await remote.put('config', Buffer.from('c'));
    expect((await remote.list('')).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'config', size: 1 },
      { name: 'data/ab/p', size: 4 },
    ]);
    await cleanup();
  });

  describe('createOnly', () => {
    it('Apache enforces it: LOCK plus If-None-Match, reported as "enforced"', async () => {
      const { remote, sub, cleanup } = await freshStore();
      expect(await remote.conditionalWrites()).toBe('enforced');
      await remote.put('log/1', Buffer.from('first'), { createOnly: true });
      // The server itself refuses If-None-Match: * on an existing resource.
      const res = await raw('PUT', `${sub}/log/1`, { 'if-none-match': '*' }, 'second');
      await res.arrayBuffer();
      expect(res.status).toBe(412);
      expect((await failure(remote.put('log/1', Buffer.from('second'), { createOnly: true }))).code).toBe('ALREADY_EXISTS');
      expect(await remote.get('log/1')).toEqual(Buffer.from('first'));
      await cleanup();
    });

    it('with locks but If-None-Match ignored: still exactly one winner among concurrent writers', async () => {
      const { remote, cleanup } = await freshStore({ fetch: faultyFetch({ ignoreIfNoneMatch: true }) });
      expect(await remote.conditionalWrites()).toBe('enforced');
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => remote.put('log/race', Buffer.from(`w${i}`.repeat(500)), { createOnly: true })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(isCcsError(r.reason, 'ALREADY_EXISTS')).toBe(true);
      await cleanup();
    });

    it.each([
      ['without locks', { noLocks: true }],
      ['without locks or If-None-Match', { noLocks: true, ignoreIfNoneMatch: true }],
    ])('%s: "emulated", and an existing object is still never replaced', async (_label, behaviour) => {
      const { remote, cleanup } = await freshStore({ fetch: faultyFetch(behaviour) });
      expect(await remote.conditionalWrites()).toBe('emulated');
      await remote.put('log/1', Buffer.from('first'), { createOnly: true });
      expect((await failure(remote.put('log/1', Buffer.from('second'), { createOnly: true }))).code).toBe('ALREADY_EXISTS');
      expect((await failure(remote.put('log/1', Buffer.from('first'), { createOnly: true }))).code).toBe('ALREADY_EXISTS');
      expect(await remote.get('log/1')).toEqual(Buffer.from('first'));
      await remote.delete('log/1');
      await remote.put('log/1', Buffer.from('again'), { createOnly: true });
      expect(await remote.list('log/')).toEqual([{ name: 'log/1', size: 5 }]);
      await cleanup();
    });

    it('waits for another client’s lock, and gives up with a transient error after lockWaitMs', async () => {
      const { remote, sub, cleanup } = await freshStore();
      await remote.put('log/seed', Buffer.from('s'));
      const token = await foreignLock(`${sub}/log/1`);
      // A pending lock-null resource is not an object.
      expect(await remote.list('log/')).toEqual([{ name: 'log/seed', size: 1 }]);
      expect(await remote.stat('log/1')).toBeNull();
      expect((await failure(remote.get('log/1'))).code).toBe('OBJECT_MISSING');

      const put = remote.put('log/1', Buffer.from('mine'), { createOnly: true });
      await new Promise((r) => setTimeout(r, 300));
      await (await raw('UNLOCK', `${sub}/log/1`, { 'lock-token': token })).arrayBuffer();
      await put;
      expect(await remote.get('log/1')).toEqual(Buffer.from('mine'));

      const impatient = new WebDavRemote(`${dav.url}/${sub}`, { lockWaitMs: 200 });
      const token2 = await foreignLock(`${sub}/log/2`);
      const err = await failure(impatient.put('log/2', Buffer.from('x'), { createOnly: true }));
      expect(err.code).toBe('REMOTE_UNREACHABLE');
      expect(err.message).toMatch(/locked by another client/);
      expect(isTransient(err)).toBe(true);
      await (await raw('UNLOCK', `${sub}/log/2`, { 'lock-token': token2 })).arrayBuffer();
      await cleanup();
    });

    it('a lost LOCK answer does not make the retry wait for its own lock to expire', async () => {
      let lost = 0;
      const losing: FetchLike = async (input, init) => {
        const res = await fetch(input, init);
        if (init.method === 'LOCK' && lost === 0 && input.pathname.endsWith('/log/1')) {
          lost++;
          await res.arrayBuffer();
          throw new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
        }
        return res;
      };
      const { remote, cleanup } = await freshStore({ fetch: losing });
      const retrying = new RetryingRemote(remote, { sleep: async () => undefined });
      const t0 = performance.now();
      await retrying.put('log/1', Buffer.from('entry'), { createOnly: true });
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(lost).toBe(1);
      expect(await remote.get('log/1')).toEqual(Buffer.from('entry'));
      expect((await failure(retrying.put('log/1', Buffer.from('other'), { createOnly: true }))).code).toBe('ALREADY_EXISTS');
      await cleanup();
    });
  });

  describe('reading', () => {
    it('range reads work when the server ignores Range (200 with the whole object)', async () => {
      const f = faultyFetch({ ignoreRange: true });
      const { remote, cleanup } = await freshStore({ fetch: f });
      const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
      await remote.put('packs/p', data);
      expect(await remote.getRange('packs/p', 10, 20)).toEqual(data.subarray(10, 30));
      expect(await remote.getRange('packs/p', 0, 100)).toEqual(data);
      expect((await failure(remote.getRange('packs/p', 95, 10))).code).toBe('OBJECT_CORRUPT');
      expect((await failure(remote.getRange('packs/p', 100, 1))).code).toBe('OBJECT_CORRUPT');
      expect((await failure(remote.getRange('packs/none', 0, 1))).code).toBe('OBJECT_MISSING');
      expect(f.requests.filter((r) => r.method === 'GET').length).toBeGreaterThan(0);
      await cleanup();
    });

    it('a body shorter than its Content-Length is a transient error, never short data', async () => {
      const { remote, sub, cleanup } = await freshStore();
      await remote.put('packs/p', randomBytes(5000));
      const truncating = new WebDavRemote(`${dav.url}/${sub}`, {
        fetch: faultyFetch({ probability: { truncateBody: 1 } }),
      });
      for (const call of [() => truncating.get('packs/p'), () => truncating.getRange('packs/p', 100, 1000)]) {
        const err = await failure(call());
        expect(err.code).toBe('REMOTE_UNREACHABLE');
        expect(err.message).toMatch(/ended after \d+ of \d+ bytes/);
        expect(isTransient(err)).toBe(true);
      }
      await cleanup();
    });

    it('stores and reads a 64 MiB object', async () => {
      const { remote, cleanup } = await freshStore();
      const big = randomBytes(64 * 1024 * 1024);
      await remote.put('packs/big', big);
      expect(await remote.stat('packs/big')).toEqual({ name: 'packs/big', size: big.length });
      expect(sha(await remote.getRange('packs/big', big.length - 1_000_000, 1_000_000))).toBe(sha(big.subarray(-1_000_000)));
      expect(sha(await remote.get('packs/big'))).toBe(sha(big));
      await cleanup();
    });
  });

  describe('listing and deleting', () => {
    it('ignores server temp files, foreign names and lock state', async () => {
      const { remote, dir, cleanup } = await freshStore();
      await remote.put('data/00/x', Buffer.from('x'));
      await fs.writeFile(path.join(dir, 'data/00/.davfs.tmpa1b2c3'), 'partial');
      await fs.writeFile(path.join(dir, 'data/00/UPPER'), 'foreign');
      await fs.writeFile(path.join(dir, 'with space'), 'foreign');
      await fs.mkdir(path.join(dir, 'Docs'));
      await fs.writeFile(path.join(dir, 'Docs/x'), 'foreign');
      expect(await remote.list('')).toEqual([{ name: 'data/00/x', size: 1 }]);
      expect(await remote.list('data/00/')).toEqual([{ name: 'data/00/x', size: 1 }]);
      await cleanup();
    });

    it('a prefix through a file lists nothing', async () => {
      const { remote, cleanup } = await freshStore();
      await remote.put('config', Buffer.from('c'));
      expect(await remote.list('config/')).toEqual([]);
      expect(await remote.list('config/x')).toEqual([]);
      await cleanup();
    });

    it('delete of a name that is a collection deletes nothing', async () => {
      const { remote, cleanup } = await freshStore();
      await remote.put('dir/leaf', Buffer.from('x'));
      await remote.delete('dir');
      expect(await remote.get('dir/leaf')).toEqual(Buffer.from('x'));
      await cleanup();
    });

    it('never has more requests in flight than maxConcurrency', async () => {
      const f = faultyFetch();
      const { remote, cleanup } = await freshStore({ fetch: f, maxConcurrency: 3 });
      await Promise.all(Array.from({ length: 40 }, (_, i) => remote.put(`data/${i % 8}/o${i}`, Buffer.from(`${i}`))));
      expect(await remote.list('data/')).toHaveLength(40);
      expect(f.maxInFlight).toBe(3);
      await cleanup();
    });
  });
});

describe('WebDavRemote timeouts', () => {
  let server: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();
  let mode: 'silent' | 'stallInBody' = 'silent';

  beforeAll(async () => {
    server = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => undefined);
      sock.once('data', () => {
        if (mode === 'stallInBody') sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it.each(['silent', 'stallInBody'] as const)('a server that goes %s: transient REMOTE_UNREACHABLE after timeoutMs', async (m) => {
    mode = m;
    const remote = new WebDavRemote(`webdav+http://u:secret@127.0.0.1:${port}/dav`, { timeoutMs: 200 });
    const t0 = performance.now();
    const err = await failure(remote.get('config'));
    const ms = performance.now() - t0;
    expect(err.code).toBe('REMOTE_UNREACHABLE');
    expect(err.message).toContain(`no answer from 127.0.0.1:${port} within 0.2 s`);
    expect(err.message).not.toContain('secret');
    expect(isTransient(err)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(2000);
  });
});
