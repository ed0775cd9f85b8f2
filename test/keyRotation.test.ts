import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCcsError } from '../core/common/errors';
import { HEADER_LENGTH, decryptObject, readHeaderEpoch } from '../core/crypto/stream';
import { FolderRemote } from '../core/remotes/folder/FolderRemote';
import { names } from '../core/engine/format';
import { listDevices, proveDevice, revokeDevice, rotateDataKey } from '../core/engine/keyOps';
import { writeHead, writeLogEntry } from '../core/engine/logStore';
import { joinDevice } from '../core/engine/setup';
import { newStats } from '../core/engine/transferStats';
import { makeDevices, readTree, tempDir, TEST_PASSWORD, TestDevice, treesEqual } from '../core/test-support/vaultHarness';

// Issue #6: key rotation, revocation, signed logs, stale-key lockout and proof of possession,
// with real devices on a real folder remote.

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function setup(n: number) {
  const dir = await tempDir('ccsync-keys-');
  cleanup = dir.cleanup;
  const remote = join(dir.path, 'remote');
  return { dir: dir.path, remote, devices: await makeDevices(dir.path, remote, n) };
}

const codeOf = (e: unknown) => (isCcsError(e) ? e.code : String(e));

async function packEpochs(remote: string): Promise<number[]> {
  const r = new FolderRemote(remote);
  const out: number[] = [];
  for (const o of await r.list('data/')) out.push(readHeaderEpoch((await r.getRange(o.name, 0, HEADER_LENGTH)).subarray(0, HEADER_LENGTH)));
  return out;
}

describe('data-key rotation', () => {
  it('new writes use the new epoch at once; old data stays readable; other devices follow without anything typed', async () => {
    const { remote, devices } = await setup(2);
    const [A, B] = devices as [TestDevice, TestDevice];
    await writeFile(join(A.root, 'old.md'), 'before rotation');
    await A.sync();
    const s = await A.session();
    try {
      expect((await rotateDataKey(s)).epoch).toBe(2);
    } finally {
      s.close();
    }
    await writeFile(join(A.root, 'new.md'), 'after rotation');
    await A.sync();
    expect((await packEpochs(remote)).sort()).toEqual([1, 2]);
    await B.sync();
    expect(treesEqual(await readTree(A.root), await readTree(B.root))).toBe(true);
    expect(await readFile(join(B.root, 'new.md'), 'utf8')).toBe('after rotation');
    const sb = await B.session();
    try {
      expect(sb.keys.currentEpoch).toBe(2);
      expect([...sb.keys.epochs.keys()].sort()).toEqual([1, 2]);
    } finally {
      sb.close();
    }
  });

  it('a device still holding the old epoch refuses to publish under it (stale-key lockout), then works after reopening', async () => {
    const { devices } = await setup(2);
    const [A, B] = devices as [TestDevice, TestDevice];
    const stale = await B.session(); // opened before the rotation
    const sa = await A.session();
    try {
      await rotateDataKey(sa);
    } finally {
      sa.close();
    }
    await writeFile(join(B.root, 'late.md'), 'written by a device that missed the rotation');
    try {
      const { runSync } = await import('../core/engine/sync');
      const err = await runSync(stale).then(() => null, (e: unknown) => e);
      expect(codeOf(err)).toBe('LOCKED');
      expect(String((err as Error).message)).toMatch(/moved to a new data key \(epoch 2\)/);
    } finally {
      stale.close();
    }
    await B.sync();
    await A.sync();
    expect(await readFile(join(A.root, 'late.md'), 'utf8')).toBe('written by a device that missed the rotation');
  });
});

describe('concurrent rotations', () => {
  it('two devices rotating at once: exactly one new epoch wins, the other is told to retry, nothing breaks', async () => {
    const { devices } = await setup(2);
    const [A, B] = devices as [TestDevice, TestDevice];
    const sa = await A.session();
    const sb = await B.session();
    let results: Array<number | string>;
    try {
      results = await Promise.all([sa, sb].map((s) => rotateDataKey(s).then((r) => r.epoch, (e: unknown) => codeOf(e))));
    } finally {
      sa.close();
      sb.close();
    }
    expect(results.sort()).toEqual([2, 'BUSY']);
    await writeFile(join(B.root, 'after.md'), 'after the race');
    await B.sync();
    await A.sync();
    expect(await readFile(join(A.root, 'after.md'), 'utf8')).toBe('after the race');
    const again = await B.session();
    try {
      expect(again.keys.currentEpoch).toBe(2);
      expect((await rotateDataKey(again)).epoch).toBe(3);
    } finally {
      again.close();
    }
  });
});

describe('revocation', () => {
  it('a revoked device cannot read what is written after, its new writes are refused, and it is told so', async () => {
    const { dir, remote, devices } = await setup(3);
    const [A, B, C] = devices as [TestDevice, TestDevice, TestDevice];
    await writeFile(join(C.root, 'from-c.md'), 'written before revocation');
    await C.sync();
    await A.sync();
    const cStale = await C.session(); // the revoked machine keeps its old keys in memory (or a copy of its keychain)
    const sa = await A.session();
    const cId = cStale.config.deviceId;
    try {
      const r = await revokeDevice(sa, cId);
      expect(r.epoch).toBe(2);
      expect(r.lastSeq).toBe(1);
    } finally {
      sa.close();
    }
    const sl = await A.session();
    try {
      const listed = await listDevices(sl);
      expect(listed.epoch).toBe(2);
      expect(listed.devices.find((d) => d.id === cId)?.status).toBe('revoked');
      expect(listed.devices.filter((d) => d.status === 'active')).toHaveLength(2);
    } finally {
      sl.close();
    }
    await writeFile(join(A.root, 'secret-after.md'), 'C must never read this');
    await A.sync();

    // 1. C's keys open nothing written after the revocation.
    const aId = (await A.session().then((s) => (s.close(), s.config.deviceId)));
    const fr = new FolderRemote(remote);
    const logs = (await fr.list(names.logPrefix(aId))).map((o) => o.name).sort();
    const newest = logs[logs.length - 1]!;
    expect(() => decryptObject(readFileSync(join(remote, newest)), newest, (e) => cStale.keys.epochs.get(e))).toThrow(/epoch 2|LOCKED|key/i);
    let locked = 0;
    for (const o of await fr.list('data/')) {
      const data = await fr.get(o.name);
      if (readHeaderEpoch(data.subarray(0, HEADER_LENGTH)) === 2) {
        expect(() => decryptObject(data, o.name, (e) => cStale.keys.epochs.get(e))).toThrow();
        locked++;
      }
    }
    expect(locked).toBeGreaterThan(0);

    // 2. Opening the vault as C now fails with REVOKED, whatever it holds.
    const err = await C.session().then((s) => (s.close(), null), (e: unknown) => e);
    expect(codeOf(err)).toBe('REVOKED');
    const withPassword = await import('../core/engine/session').then(({ openSession }) => openSession(C.home, { password: TEST_PASSWORD, secretStore: C.store })).then((s) => (s.close(), null), (e: unknown) => e);
    expect(codeOf(withPassword)).toBe('REVOKED');

    // 3. Writes C makes anyway (with its stale keys, bypassing its own client) are refused by everyone.
    try {
      const good = cStale.db.headsOf('from-c.md')[0]!;
      const seq = cStale.db.deviceSeq(cId) + 1;
      await writeLogEntry(cStale.remote, cStale.keys, { format: 2, device: cId, deviceName: 'evil', seq, hlc: good.hlc, createdAt: new Date().toISOString(), packs: [], versions: [{ ...good, id: `${cId}-999`, path: 'from-c.md', deleted: true, contentId: '', chunks: [], size: 0, dot: 2, vv: { ...good.vv, [cId]: 2 } }] }, newStats());
      await writeHead(cStale.remote, cStale.keys, { device: cId, deviceName: 'evil', seq, updatedAt: new Date().toISOString() }, newStats());
    } finally {
      cStale.close();
    }
    const rb = await B.sync();
    expect(await readFile(join(B.root, 'from-c.md'), 'utf8')).toBe('written before revocation');
    expect(await readFile(join(B.root, 'secret-after.md'), 'utf8')).toBe('C must never read this');
    expect(rb.problems.map((p) => p.message).join('\n')).toMatch(/was revoked on .*; its 1 later log entries are refused/);
    await A.sync();
    expect(await readFile(join(A.root, 'from-c.md'), 'utf8')).toBe('written before revocation');

    // 3b. Nor can it smuggle in a new identity: a registration MACed under an epoch key it knew is ignored.
    const { makeRegistration } = await import('../core/engine/keyring/epochDoc');
    const { newIdentity } = await import('../core/engine/keyring/identity');
    const sneaky = newIdentity('5eaf5eaf5eaf5eaf');
    await fr.put(names.device(sneaky.deviceId), Buffer.from(JSON.stringify(makeRegistration(sneaky, 'sneaky', cStale.keys.vaultId, 1, cStale.keys.epochs.get(1)!))));
    const check = await A.session();
    try {
      expect(check.keys.ring.devices.has(sneaky.deviceId)).toBe(false);
    } finally {
      check.close();
    }

    // 4. A new device joins with the password after the revocation and syncs normally.
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'root-d'));
    await joinDevice({ home: join(dir, 'home-d'), root: join(dir, 'root-d'), remote, password: TEST_PASSWORD, deviceName: 'dev-d', secretStore: A.store });
    const D = new TestDevice(join(dir, 'home-d'), join(dir, 'root-d'), A.store);
    await D.sync();
    expect(treesEqual(await readTree(D.root), await readTree(A.root))).toBe(true);
  });
});

describe('key chain integrity', () => {
  it('a modified epoch doc or a replaced grant is refused; a rewritten past epoch is caught by the pin', async () => {
    const { remote, devices } = await setup(1);
    const [A] = devices as [TestDevice];
    const s = await A.session();
    try {
      await rotateDataKey(s);
    } finally {
      s.close();
    }
    await A.sync(); // pins epochs 1 and 2
    const epoch2 = join(remote, names.epoch(2));
    const original = await readFile(epoch2, 'utf8');
    await writeFile(epoch2, original.replace(/"createdAt": "[^"]+"/, '"createdAt": "2001-01-01T00:00:00.000Z"'));
    expect(codeOf(await A.session().then((x) => (x.close(), null), (e: unknown) => e))).toBe('OBJECT_CORRUPT');
    await writeFile(epoch2, original);
    // A grant sealed by someone else (anyone can seal to a public key) opens to the wrong key.
    const { sealTo } = await import('../core/engine/keyring/sealedBox');
    const { randomBytes } = await import('node:crypto');
    const sa = await A.session();
    const slot = `device-${sa.config.deviceId}`;
    const doc = JSON.parse(original) as { check: string };
    const grant = join(remote, names.grant(2, doc.check, slot));
    const saved = await readFile(grant);
    await writeFile(grant, JSON.stringify(sealTo(sa.keys.identity!.kexPub, randomBytes(32), `grant/${sa.keys.vaultId}/2/${slot}`)));
    sa.close();
    const e2 = await A.session().then((x) => (x.close(), null), (e: unknown) => e);
    expect(codeOf(e2)).toBe('OBJECT_CORRUPT');
    expect(String((e2 as Error).message)).toMatch(/does not open to the key of epoch 2/);
    await writeFile(grant, saved);
    await A.sync();
  });
});

describe('proof of possession', () => {
  it('verifies against the registered key, and fails for a device whose key is not the registered one', async () => {
    const { devices } = await setup(2);
    const [A] = devices as [TestDevice];
    const s = await A.session();
    try {
      const p = await proveDevice(s);
      expect(p.ok).toBe(true);
      expect(p.fingerprint).toMatch(/^[0-9a-f]{4}(:[0-9a-f]{4}){4}$/);
      const { newIdentity } = await import('../core/engine/keyring/identity');
      const forged = await proveDevice({ ...s, keys: { ...s.keys, identity: newIdentity(s.config.deviceId) } });
      expect(forged.ok).toBe(false);
      expect(forged.detail).toMatch(/does not verify against the registered key/);
      expect(Number(s.db.getMeta('possessionVerifiedAt'))).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      s.close();
    }
    // Back after 31 days away: the device proves possession again before it may sync.
    const { openSession, POSSESSION_RECHECK_MS } = await import('../core/engine/session');
    const later = Date.now() + POSSESSION_RECHECK_MS + 86_400_000;
    const back = await openSession(A.home, { secretStore: A.store, now: () => later });
    try {
      expect(Number(back.db.getMeta('possessionVerifiedAt'))).toBe(later);
    } finally {
      back.close();
    }
  });
});

