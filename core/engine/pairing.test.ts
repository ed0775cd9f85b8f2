import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { x25519Generate, x25519Shared } from '../crypto/deviceKeys';
import { FolderRemote } from '../remotes/folder/FolderRemote';
import { MemoryRemote } from '../remotes/memory/MemoryRemote';
import type { ObjectInfo, PutOptions, Remote } from '../remotes/remote';
import { joinWithCode, startPairing, sweepExpiredOffers, type PairingOffer, type StartPairingOptions } from './pairing';
import { formatPairingCode, parsePairingCode } from './pairingCode';

const VAULT = '0123456789abcdef0123456789abcdef';
const DEVICE_A = 'aaaaaaaaaaaaaaaa';
const DEVICE_B = { deviceId: 'bbbbbbbbbbbbbbbb', signPub: randomBytes(32).toString('base64'), kexPub: randomBytes(32).toString('base64') };
const POLL = 5;

// ---------------------------------------------------------------------------------------------
// The protocol as pairing.ts documents it, written out independently: the attacker below uses it,
// and the happy path checks the implementation against it.

const spec = {
  frame(...parts: (string | Uint8Array)[]): Buffer {
    return Buffer.concat(
      parts.flatMap((p) => {
        const b = Buffer.from(p);
        const len = Buffer.alloc(4);
        len.writeUInt32BE(b.length);
        return [len, b];
      }),
    );
  },
  codeKey(code: string): Buffer {
    const { offerId, secret } = parsePairingCode(code);
    return Buffer.from(hkdfSync('sha256', Buffer.from(secret), Buffer.from(offerId), Buffer.from('ccsync/v1/pair/code'), 32));
  },
  mac(key: Buffer, label: string, ...parts: string[]): Buffer {
    return createHmac('sha256', key).update(spec.frame(`ccsync/v1/pair/${label}`, ...parts)).digest();
  },
  envelope(body: string, mac: Buffer): Buffer {
    return Buffer.from(JSON.stringify({ v: 1, body, mac: mac.toString('base64') }));
  },
  body(envelopeBytes: Buffer): string {
    return (JSON.parse(envelopeBytes.toString()) as { body: string }).body;
  },
  commit(pubA: Buffer): Buffer {
    return createHash('sha256').update(spec.frame('ccsync/v1/pair/commit', pubA)).digest();
  },
  session(shared: Buffer, kCode: Buffer, offerBody: string, responseBody: string, pubA: Buffer) {
    const t = createHash('sha256').update(spec.frame('ccsync/v1/pair/transcript', offerBody, responseBody, pubA)).digest();
    const hk = (label: string, n: number) => Buffer.from(hkdfSync('sha256', shared, kCode, spec.frame(`ccsync/v1/pair/${label}`, t), n));
    return { t, key: hk('key', 32), sas: (hk('sas', 8).readBigUInt64BE(0) % 1000000n).toString().padStart(6, '0') };
  },
  open(key: Buffer, t: Buffer, grantBytes: Buffer): Buffer {
    const g = JSON.parse(grantBytes.toString()) as { nonce: string; ciphertext: string };
    const sealed = Buffer.from(g.ciphertext, 'base64');
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(g.nonce, 'base64'));
    d.setAAD(spec.frame('ccsync/v1/pair/grant', t));
    d.setAuthTag(sealed.subarray(-16));
    return Buffer.concat([d.update(sealed.subarray(0, -16)), d.final()]);
  },
  seal(key: Buffer, t: Buffer, payload: Buffer, offerId: string): Buffer {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.setAAD(spec.frame('ccsync/v1/pair/grant', t));
    const ciphertext = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()]);
    return Buffer.from(JSON.stringify({ v: 1, kind: 'grant', offerId, nonce: nonce.toString('base64'), ciphertext: ciphertext.toString('base64') }));
  },
};

const names = (offerId: string) => {
  const g = `pair/${offerId.toLowerCase()}/`;
  return { offer: `${g}offer`, response: `${g}response`, reveal: `${g}reveal`, grant: `${g}grant`, done: `${g}done` };
};

// ---------------------------------------------------------------------------------------------
// A remote in the middle: records what passes and may rewrite it.

type Hook = (name: string, data: Buffer) => Buffer | Promise<Buffer>;
/** A put hook may also drop the write (null): the writer believes it succeeded. */
type PutHook = (name: string, data: Buffer) => Buffer | null | Promise<Buffer | null>;

class Tap implements Remote {
  readonly description: string;
  readonly puts: string[] = [];
  readonly written: Buffer[] = [];
  constructor(
    private readonly inner: Remote,
    private readonly hooks: { put?: PutHook; get?: Hook; extraListing?: string[] } = {},
  ) {
    this.description = inner.description;
  }
  check(): Promise<void> {
    return this.inner.check();
  }
  create(): Promise<void> {
    return this.inner.create();
  }
  async put(name: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    const out = this.hooks.put ? await this.hooks.put(name, Buffer.from(data)) : Buffer.from(data);
    if (out === null) return;
    await this.inner.put(name, out, options);
    this.puts.push(name);
    this.written.push(out);
  }
  async get(name: string): Promise<Buffer> {
    const data = await this.inner.get(name);
    return this.hooks.get ? this.hooks.get(name, data) : data;
  }
  getRange(name: string, offset: number, length: number): Promise<Buffer> {
    return this.inner.getRange(name, offset, length);
  }
  stat(name: string): Promise<ObjectInfo | null> {
    return this.inner.stat(name);
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    return [...(await this.inner.list(prefix)), ...(this.hooks.extraListing ?? []).map((name) => ({ name, size: 1 }))];
  }
  delete(name: string): Promise<void> {
    return this.inner.delete(name);
  }
}

/** Rewrites the body of an envelope object in place, keeping its MAC. */
async function rewriteBody(remote: Remote, name: string, change: (body: Record<string, unknown>) => void): Promise<void> {
  const env = JSON.parse((await remote.get(name)).toString()) as { v: number; body: string; mac: string };
  const body = JSON.parse(env.body) as Record<string, unknown>;
  change(body);
  await remote.put(name, Buffer.from(JSON.stringify({ ...env, body: JSON.stringify(body) })));
}

function editBody(data: Buffer, change: (body: Record<string, unknown>) => void): Buffer {
  const env = JSON.parse(data.toString()) as { v: number; body: string; mac: string };
  const body = JSON.parse(env.body) as Record<string, unknown>;
  change(body);
  return Buffer.from(JSON.stringify({ ...env, body: JSON.stringify(body) }));
}

const pairObjects = async (remote: Remote) => (await remote.list('pair/')).map((o) => o.name).sort();
/** The outcome of a pairing step; one that has not settled within 10 s is a failure, not a hang. */
const settle = <T>(p: Promise<T>) => {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('did not settle within 10 s')), 10_000);
  });
  return Promise.race([p, stuck]).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  ).finally(() => clearTimeout(timer));
};
const codeOf = (e: unknown) => (e as { code?: string }).code;

const tempDirs: string[] = [];
afterAll(async () => {
  await Promise.all(tempDirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

const remotes: [string, () => Promise<Remote>][] = [
  ['memory', async () => new MemoryRemote()],
  [
    'folder',
    async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ccs-pair-'));
      tempDirs.push(dir);
      return new FolderRemote(dir);
    },
  ],
];

function start(remote: Remote, extra: Partial<StartPairingOptions> = {}): Promise<PairingOffer> {
  // A short lifetime turns a protocol bug into a quick failure instead of a ten-minute wait.
  return startPairing(remote, { vaultId: VAULT, deviceId: DEVICE_A, deviceName: 'Laptop', pollMs: POLL, ttlMs: 15_000, ...extra });
}

const join = (remote: Remote, code: string, extra: Partial<Parameters<typeof joinWithCode>[2]> = {}) =>
  joinWithCode(remote, code, { deviceName: 'Desktop', device: DEVICE_B, pollMs: POLL, signal: AbortSignal.timeout(10_000), ...extra });

describe.each(remotes)('device pairing over a %s remote', (_kind, makeRemote) => {
  it('hands the payload over byte-identical, with equal SAS on both screens, and leaves nothing behind', async () => {
    const remote = await makeRemote();
    const tapA = new Tap(remote);
    const tapB = new Tap(remote);
    const secret = randomBytes(777);
    const offer = await start(tapA);
    expect(offer.code).toMatch(/^PAIR(-[0-9A-HJKMNP-TV-Z]{5}){6}$/);
    expect(await pairObjects(remote)).toEqual([names(offer.offerId).offer]);

    const shownA: string[] = [];
    const shownB: string[] = [];
    const peers: unknown[] = [];
    const [a, b] = await Promise.all([
      offer.complete({
        payload: (peer) => {
          peers.push(peer);
          return secret;
        },
        onSas: (sas) => {
          shownA.push(sas);
          return true;
        },
      }),
      // typed sloppily, as a person would
      join(tapB, offer.code.toLowerCase().replace(/-/g, ' '), {
        vaultId: VAULT,
        onSas: (sas) => {
          shownB.push(sas);
        },
      }),
    ]);

    expect(b.payload.equals(secret)).toBe(true);
    expect(a.sas).toMatch(/^\d{6}$/);
    expect(b.sas).toBe(a.sas);
    expect(shownA).toEqual([a.sas]);
    expect(shownB).toEqual([a.sas]);
    expect(a.acknowledged).toBe(true);
    expect(a.peer).toEqual({ deviceName: 'Desktop', device: DEVICE_B });
    expect(peers).toEqual([a.peer]);
    expect(b.from).toEqual({ deviceId: DEVICE_A, deviceName: 'Laptop', vaultId: VAULT });
    expect(await pairObjects(remote)).toEqual([]);

    // Each side wrote exactly its steps, and nothing on the remote holds the payload or the secret.
    const n = names(offer.offerId);
    expect(tapA.puts).toEqual([n.offer, n.reveal, n.grant]);
    expect(tapB.puts).toEqual([n.response, n.done]);
    const { secret: codeSecret } = parsePairingCode(offer.code);
    for (const data of [...tapA.written, ...tapB.written]) {
      expect(data.includes(secret.subarray(0, 32))).toBe(false);
      expect(data.toString().includes(codeSecret)).toBe(false);
    }

    // The documented protocol, recomputed from what crossed the remote, gives the same SAS and key.
    const kCode = spec.codeKey(offer.code);
    const [offerEnv, revealBytes, grantBytes] = tapA.written as [Buffer, Buffer, Buffer];
    const responseEnv = tapB.written[0] as Buffer;
    const offerBody = spec.body(offerEnv);
    const responseBody = spec.body(responseEnv);
    expect(JSON.parse(offerEnv.toString()).mac).toBe(spec.mac(kCode, 'offer', offerBody).toString('base64'));
    expect(JSON.parse(responseEnv.toString()).mac).toBe(spec.mac(kCode, 'response', offerBody, responseBody).toString('base64'));
    const pubA = Buffer.from((JSON.parse(revealBytes.toString()) as { pubA: string }).pubA, 'base64');
    expect((JSON.parse(offerBody) as { commitA: string }).commitA).toBe(spec.commit(pubA).toString('base64'));
    expect(JSON.parse(offerBody)).toMatchObject({ v: 1, kind: 'offer', vaultId: VAULT, offerId: offer.offerId, fromDevice: DEVICE_A, fromName: 'Laptop', expiresAt: offer.expiresAt });
    expect(JSON.parse(grantBytes.toString())).toMatchObject({ v: 1, kind: 'grant', offerId: offer.offerId });
    // (The key schedule and SAS are checked against this spec by the relay test below, whose
    // attacker builds every message from it.)
  });

  it('refuses a wrong code on B (PAIRING_TAMPERED), and A grants nothing and expires', async () => {
    const remote = await makeRemote();
    const tapA = new Tap(remote);
    const tapB = new Tap(remote);
    const offer = await start(tapA, { ttlMs: 400 });
    const { offerId, secret } = parsePairingCode(offer.code);
    const wrong = formatPairingCode({ offerId, secret: secret.startsWith('0') ? `1${secret.slice(1)}` : `0${secret.slice(1)}` });
    const completed = settle(offer.complete({ payload: () => randomBytes(32) }));

    await expect(join(tapB, wrong)).rejects.toMatchObject({ code: 'PAIRING_TAMPERED', message: expect.stringContaining('or the code is wrong') });
    expect(tapB.puts).toEqual([]);
    const a = await completed;
    expect(a.ok).toBe(false);
    expect(codeOf(!a.ok && a.error)).toBe('PAIRING_EXPIRED');
    expect(tapA.puts).toEqual([names(offerId).offer]);
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('refuses a code with a typo before touching the remote (USAGE)', async () => {
    const remote = await makeRemote();
    const tapB = new Tap(remote);
    const offer = await start(remote);
    const chars = offer.code.replace(/^PAIR-/, '').replace(/-/g, '');
    const typo = chars.slice(0, 12) + (chars[12] === '7' ? '8' : '7') + chars.slice(13);
    await expect(join(tapB, typo)).rejects.toMatchObject({ code: 'USAGE' });
    expect(tapB.puts).toEqual([]);
    await offer.cancel();
    expect(await pairObjects(remote)).toEqual([]);
  });

  it.each([
    ['the commitment to pubA', (b: Record<string, unknown>) => (b.commitA = randomBytes(32).toString('base64'))],
    ['expiresAt', (b: Record<string, unknown>) => (b.expiresAt = (b.expiresAt as number) + 3_600_000)],
    ['fromName', (b: Record<string, unknown>) => (b.fromName = 'Trusted Laptop')],
    ['the vault id', (b: Record<string, unknown>) => (b.vaultId = 'f'.repeat(32))],
  ])('B refuses an offer whose %s was changed on the remote, and answers nothing', async (_what, change) => {
    const remote = await makeRemote();
    const tapB = new Tap(remote);
    const offer = await start(remote);
    await rewriteBody(remote, names(offer.offerId).offer, change);
    await expect(join(tapB, offer.code)).rejects.toMatchObject({ code: 'PAIRING_TAMPERED' });
    expect(tapB.puts).toEqual([]);
    await offer.cancel();
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('B refuses an offer whose MAC was changed, or that is not JSON, or too large', async () => {
    const remote = await makeRemote();
    const offer = await start(remote);
    const n = names(offer.offerId);
    const original = await remote.get(n.offer);
    const env = JSON.parse(original.toString()) as { mac: string };
    await remote.put(n.offer, Buffer.from(JSON.stringify({ ...env, mac: randomBytes(32).toString('base64') })));
    await expect(join(remote, offer.code)).rejects.toMatchObject({ code: 'PAIRING_TAMPERED' });
    await remote.put(n.offer, original.subarray(0, original.length - 1));
    await expect(join(remote, offer.code)).rejects.toMatchObject({ code: 'PAIRING_TAMPERED', message: expect.stringContaining('not valid JSON') });
    await remote.put(n.offer, Buffer.alloc(1 << 20, 0x20));
    await expect(join(remote, offer.code)).rejects.toMatchObject({ code: 'PAIRING_TAMPERED', message: expect.stringContaining('bytes') });
    await offer.cancel();
  });

  it('A refuses a response whose pubB was swapped on the remote, and writes no reveal or grant', async () => {
    const remote = await makeRemote();
    const tapA = new Tap(remote);
    const attacker = x25519Generate();
    const tapB = new Tap(remote, {
      put: (name, data) => (name.endsWith('/response') ? editBody(data, (b) => (b.pubB = attacker.publicKey.toString('base64'))) : data),
    });
    const offer = await start(tapA);
    const [a, b] = await Promise.all([settle(offer.complete({ payload: () => randomBytes(32) })), settle(join(tapB, offer.code))]);
    expect(!a.ok && codeOf(a.error)).toBe('PAIRING_TAMPERED');
    // B learns that A withdrew the offer instead of waiting for the expiry.
    expect(!b.ok && codeOf(b.error)).toBe('PAIRING_CANCELLED');
    expect(tapA.puts).toEqual([names(offer.offerId).offer]);
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('A refuses a response MACed with another code, and one carrying a low-order key', async () => {
    for (const variant of ['wrong code', 'low order'] as const) {
      const remote = await makeRemote();
      const tapA = new Tap(remote);
      const offer = await start(tapA);
      const n = names(offer.offerId);
      const completed = settle(offer.complete({ payload: () => randomBytes(32) }));
      const offerBody = spec.body(await remote.get(n.offer));
      const { offerId, secret } = parsePairingCode(offer.code);
      const key = variant === 'wrong code' ? spec.codeKey(formatPairingCode({ offerId, secret: secret.split('').reverse().join('') })) : spec.codeKey(offer.code);
      const pubB = variant === 'low order' ? Buffer.alloc(32) : x25519Generate().publicKey;
      const body = JSON.stringify({ v: 1, kind: 'response', offerId, pubB: pubB.toString('base64'), deviceName: 'Evil', device: {} });
      await remote.put(n.response, spec.envelope(body, spec.mac(key, 'response', offerBody, body)), { createOnly: true });
      const a = await completed;
      expect(!a.ok && codeOf(a.error), variant).toBe('PAIRING_TAMPERED');
      expect(tapA.puts, variant).toEqual([n.offer]);
      expect(await pairObjects(remote)).toEqual([]);
    }
  });

  it('B refuses a grant modified on the remote, and A hears of it', async () => {
    const remote = await makeRemote();
    const tapB = new Tap(remote, {
      get: (name, data) => {
        if (!name.endsWith('/grant')) return data;
        const g = JSON.parse(data.toString()) as { ciphertext: string };
        const c = Buffer.from(g.ciphertext, 'base64');
        c[3] = (c[3] as number) ^ 1;
        return Buffer.from(JSON.stringify({ ...g, ciphertext: c.toString('base64') }));
      },
    });
    const offer = await start(remote);
    const [a, b] = await Promise.all([settle(offer.complete({ payload: () => randomBytes(64) })), settle(join(tapB, offer.code))]);
    expect(!b.ok && codeOf(b.error)).toBe('PAIRING_TAMPERED');
    expect(!a.ok && codeOf(a.error)).toBe('PAIRING_TAMPERED');
    expect(!a.ok && (a.error as Error).message).toContain('new device reports');
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('a remote that swaps both ephemeral keys (without the code) is refused at the MAC and commitment checks', async () => {
    const remote = await makeRemote();
    const tapA = new Tap(remote);
    const mitmA = x25519Generate();
    const mitmB = x25519Generate();
    const swap: Hook = (name, data) => {
      if (name.endsWith('/response')) return editBody(data, (b) => (b.pubB = mitmB.publicKey.toString('base64')));
      if (name.endsWith('/reveal')) return Buffer.from(JSON.stringify({ ...JSON.parse(data.toString()), pubA: mitmA.publicKey.toString('base64') }));
      return data;
    };
    const tapB = new Tap(remote, { put: swap, get: swap });
    const offer = await start(tapA);
    const [a, b] = await Promise.all([settle(offer.complete({ payload: () => randomBytes(32) })), settle(join(tapB, offer.code))]);
    expect(!a.ok && codeOf(a.error)).toBe('PAIRING_TAMPERED');
    expect(!b.ok && codeOf(b.error)).toBe('PAIRING_CANCELLED');
    expect(tapA.puts).toEqual([names(offer.offerId).offer]);

    // The reveal alone swapped (the response untouched): B catches it against the commitment.
    const tapB2 = new Tap(remote, { get: (name, data) => (name.endsWith('/reveal') ? swap(name, data) : data) });
    const offer2 = await start(remote);
    const [a2, b2] = await Promise.all([settle(offer2.complete({ payload: () => randomBytes(32) })), settle(join(tapB2, offer2.code))]);
    expect(!b2.ok && codeOf(b2.error)).toBe('PAIRING_TAMPERED');
    expect(!b2.ok && (b2.error as Error).message).toContain('committed');
    expect(!a2.ok && codeOf(a2.error)).toBe('PAIRING_TAMPERED');
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('with a leaked code, a relaying remote can only win if nobody compares the SAS', async () => {
    for (const compare of [false, true]) {
      const remote = await makeRemote();
      const tapA = new Tap(remote);
      const secret = randomBytes(100);
      const offer = await start(tapA);
      const mitm = relayAttack(remote, offer.code);
      let sasOnB!: (s: string) => void;
      const sasB = new Promise<string>((r) => (sasOnB = r));
      const [a, b] = await Promise.all([
        settle(offer.complete({ payload: () => secret, onSas: async (sas) => !compare || sas === (await sasB) })),
        settle(join(mitm.remote, offer.code, { onSas: (sas) => sasOnB(sas) })),
      ]);
      if (!compare) {
        // The attack is real: both sides "succeed", the SAS differ, and the relay read the payload.
        expect(a.ok && b.ok).toBe(true);
        expect(b.ok && b.value.payload.equals(secret)).toBe(true);
        expect(mitm.stolen.some((s) => s.equals(secret))).toBe(true);
        expect(a.ok && b.ok && a.value.sas !== b.value.sas).toBe(true);
      } else {
        expect(!a.ok && codeOf(a.error)).toBe('PAIRING_CANCELLED');
        expect(!b.ok && codeOf(b.error)).toBe('PAIRING_CANCELLED');
        expect(tapA.puts).not.toContain(names(offer.offerId).grant);
        expect(mitm.stolen).toEqual([]);
      }
      expect(await pairObjects(remote)).toEqual([]);
    }
  });

  it('with a leaked code, a changed device identity changes the SAS (it covers the transcript)', async () => {
    const remote = await makeRemote();
    const tapA = new Tap(remote);
    const offer = await start(tapA);
    const kCode = spec.codeKey(offer.code);
    const n = names(offer.offerId);
    const tapB = new Tap(remote, {
      put: async (name, data) => {
        if (!name.endsWith('/response')) return data;
        const offerBody = spec.body(await remote.get(n.offer));
        const body = JSON.stringify({ ...JSON.parse(spec.body(data)), device: { deviceId: 'eeeeeeeeeeeeeeee', signPub: 'attacker' } });
        return spec.envelope(body, spec.mac(kCode, 'response', offerBody, body));
      },
    });
    let sasOnB!: (s: string) => void;
    const sasB = new Promise<string>((r) => (sasOnB = r));
    let sasA = '';
    const [a, b] = await Promise.all([
      settle(
        offer.complete({
          payload: () => randomBytes(8),
          onSas: async (sas, peer) => {
            sasA = sas;
            expect(peer.device).toEqual({ deviceId: 'eeeeeeeeeeeeeeee', signPub: 'attacker' });
            return sas === (await sasB);
          },
        }),
      ),
      settle(join(tapB, offer.code, { onSas: (sas) => sasOnB(sas) })),
    ]);
    expect(sasA).not.toBe(await sasB);
    expect(!a.ok && codeOf(a.error)).toBe('PAIRING_CANCELLED');
    expect(!b.ok && codeOf(b.error)).toBe('PAIRING_CANCELLED');
    expect(tapA.puts).toEqual([n.offer, n.reveal]);
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('B refuses an expired offer; A gives up at the expiry and withdraws it', async () => {
    const remote = await makeRemote();
    const t0 = 1_800_000_000_000;
    let clock = t0;
    const offer = await start(remote, { ttlMs: 60_000, now: () => clock });
    const tapB = new Tap(remote);
    // Within the two minutes of allowed clock skew the offer still counts…
    const early = await settle(join(tapB, offer.code, { now: () => t0 + 60_000 + 60_000, signal: AbortSignal.timeout(200) }));
    // it answered the offer, then waited for A until we aborted it
    expect(!early.ok && codeOf(early.error)).toBe('PAIRING_CANCELLED');
    expect(tapB.puts).toEqual([names(offer.offerId).response, names(offer.offerId).done]);
    await remote.delete(names(offer.offerId).response);
    await remote.delete(names(offer.offerId).done);
    // …beyond it, B refuses and writes nothing.
    const tapB2 = new Tap(remote);
    await expect(join(tapB2, offer.code, { now: () => t0 + 60_000 + 120_001 })).rejects.toMatchObject({ code: 'PAIRING_EXPIRED' });
    expect(tapB2.puts).toEqual([]);
    // complete() after the expiry fails at once.
    clock = t0 + 60_001;
    await expect(offer.complete({ payload: () => randomBytes(8) })).rejects.toMatchObject({ code: 'PAIRING_EXPIRED' });
    expect(await pairObjects(remote)).toEqual([]);

    // Real timers: nobody answers, complete() rejects at the expiry and cleans up.
    const offer2 = await start(remote, { ttlMs: 300 });
    const began = Date.now();
    await expect(offer2.complete({ payload: () => randomBytes(8) })).rejects.toMatchObject({ code: 'PAIRING_EXPIRED' });
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(5_000);
    expect(await pairObjects(remote)).toEqual([]);
    await expect(join(remote, offer2.code)).rejects.toMatchObject({ code: 'PAIRING_EXPIRED', message: expect.stringContaining('no pairing offer') });
  });

  it('refuses a response replayed from an earlier pairing', async () => {
    const remote = await makeRemote();
    const tapB = new Tap(remote);
    const first = await start(remote);
    await Promise.all([first.complete({ payload: () => randomBytes(16) }), join(tapB, first.code)]);
    const oldResponse = tapB.written[0] as Buffer;

    const tapA = new Tap(remote);
    const second = await start(tapA);
    const completed = settle(second.complete({ payload: () => randomBytes(16) }));
    await remote.put(names(second.offerId).response, oldResponse, { createOnly: true });
    const a = await completed;
    expect(!a.ok && codeOf(a.error)).toBe('PAIRING_TAMPERED');
    expect(tapA.puts).toEqual([names(second.offerId).offer]);
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('a SAS refused on A grants nothing (PAIRING_CANCELLED on both sides)', async () => {
    const remote = await makeRemote();
    const tapA = new Tap(remote);
    const offer = await start(tapA);
    const payload = () => {
      throw new Error('payload must not be asked for');
    };
    const [a, b] = await Promise.all([settle(offer.complete({ payload, onSas: () => false })), settle(join(remote, offer.code, { onSas: () => true }))]);
    expect(!a.ok && codeOf(a.error)).toBe('PAIRING_CANCELLED');
    expect(!b.ok && codeOf(b.error)).toBe('PAIRING_CANCELLED');
    expect(tapA.puts).not.toContain(names(offer.offerId).grant);
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('a SAS refused on B stops A while its own prompt is still open', async () => {
    const remote = await makeRemote();
    const tapA = new Tap(remote);
    const offer = await start(tapA);
    let promptSignal: AbortSignal | undefined;
    const [a, b] = await Promise.all([
      settle(
        offer.complete({
          payload: () => randomBytes(8),
          onSas: (_sas, _peer, signal) => {
            promptSignal = signal;
            return new Promise<boolean>(() => undefined); // the user never answers
          },
        }),
      ),
      settle(join(remote, offer.code, { onSas: () => false })),
    ]);
    expect(!b.ok && codeOf(b.error)).toBe('PAIRING_CANCELLED');
    expect(!a.ok && codeOf(a.error)).toBe('PAIRING_CANCELLED');
    expect(!a.ok && (a.error as Error).message).toContain('on the new device');
    expect(promptSignal?.aborted).toBe(true);
    expect(tapA.puts).not.toContain(names(offer.offerId).grant);
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('ignores nothing: a receipt forged by the remote makes A stop as tampered, not as refused', async () => {
    const remote = await makeRemote();
    const tapA = new Tap(remote);
    const offer = await start(tapA);
    const n = names(offer.offerId);
    const completed = settle(offer.complete({ payload: () => randomBytes(8), onSas: () => new Promise<boolean>(() => undefined) }));
    const joined = settle(join(remote, offer.code, { onSas: () => new Promise<boolean>(() => undefined) }));
    await waitFor(async () => (await remote.stat(n.reveal)) !== null);
    const body = JSON.stringify({ v: 1, kind: 'cancelled', offerId: offer.offerId });
    await remote.put(n.done, spec.envelope(body, randomBytes(32)), { createOnly: true });
    const a = await completed;
    expect(!a.ok && codeOf(a.error)).toBe('PAIRING_TAMPERED');
    expect(!a.ok && (a.error as Error).message).toContain('receipt was modified');
    expect(tapA.puts).not.toContain(n.grant);
    const b = await joined;
    expect(!b.ok && codeOf(b.error)).toBe('PAIRING_CANCELLED');
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('resolves unacknowledged when the receipt never arrives (the grant went to an authenticated peer)', async () => {
    const remote = await makeRemote();
    const tapB = new Tap(remote, { put: (name, data) => (name.endsWith('/done') ? null : data) });
    const offer = await start(remote, { ttlMs: 1_500 });
    const secret = randomBytes(16);
    const began = Date.now();
    const [a, b] = await Promise.all([offer.complete({ payload: () => secret }), join(tapB, offer.code)]);
    expect(b.payload.equals(secret)).toBe(true);
    expect(a.acknowledged).toBe(false);
    expect(a.sas).toBe(b.sas);
    expect(Date.now() - began).toBeGreaterThanOrEqual(2_900); // expiry + one more lifetime of grace
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('cancellation: an abort signal or cancel() on A, an abort on B, a second device with the same code', async () => {
    const remote = await makeRemote();
    // A aborted while waiting.
    const offer = await start(remote);
    const ctl = new AbortController();
    const waiting = settle(offer.complete({ payload: () => randomBytes(8), signal: ctl.signal }));
    ctl.abort();
    const a = await waiting;
    expect(!a.ok && codeOf(a.error)).toBe('PAIRING_CANCELLED');
    expect(await pairObjects(remote)).toEqual([]);
    await expect(offer.complete({ payload: () => randomBytes(8) })).rejects.toMatchObject({ code: 'USAGE' });

    // cancel() withdraws the offer: the code no longer works.
    const offer2 = await start(remote);
    await offer2.cancel();
    await expect(join(remote, offer2.code)).rejects.toMatchObject({ code: 'PAIRING_EXPIRED' });

    // B aborted while waiting for A; a second device with the same code is told it was used.
    const offer3 = await start(remote);
    const ctlB = new AbortController();
    const joining = settle(join(remote, offer3.code, { signal: ctlB.signal }));
    await waitFor(async () => (await remote.stat(names(offer3.offerId).response)) !== null);
    await expect(join(remote, offer3.code)).rejects.toMatchObject({ code: 'PAIRING_EXPIRED', message: expect.stringContaining('already been used') });
    ctlB.abort();
    const b = await joining;
    expect(!b.ok && codeOf(b.error)).toBe('PAIRING_CANCELLED');
    await offer3.cancel();
    expect(await pairObjects(remote)).toEqual([]);
  });

  it('refuses an offer for another vault when B knows its vault (USAGE)', async () => {
    const remote = await makeRemote();
    const offer = await start(remote);
    await expect(join(remote, offer.code, { vaultId: 'e'.repeat(32) })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining(VAULT) });
    await offer.cancel();
  });

  it('waits one more poll for an object that is still being written, then goes on', async () => {
    const remote = await makeRemote();
    let truncatedOnce = false;
    const tapA = new Tap(remote, {
      get: (name, data) => {
        if (name.endsWith('/response') && !truncatedOnce) {
          truncatedOnce = true;
          return data.subarray(0, data.length >> 1);
        }
        return data;
      },
    });
    const offer = await start(tapA);
    const secret = randomBytes(40);
    const [a, b] = await Promise.all([offer.complete({ payload: () => secret }), join(remote, offer.code)]);
    expect(truncatedOnce).toBe(true);
    expect(a.acknowledged).toBe(true);
    expect(b.payload.equals(secret)).toBe(true);
  });

  it('sweepExpiredOffers deletes stale, orphaned and junk pairing objects only', async () => {
    const inner = await makeRemote();
    // A hostile listing that names a vault object under pair/ must not get it deleted.
    const remote = new Tap(inner, { extraListing: ['config'] });
    const t0 = 1_800_000_000_000;
    const old = await start(remote, { ttlMs: 60_000, now: () => t0 });
    await join(remote, old.code, { now: () => t0, signal: AbortSignal.timeout(100) }).catch(() => undefined);
    const fresh = await start(remote, { ttlMs: 60_000, now: () => t0 + 3_600_000 });
    await inner.put('pair/zzzzzzzz/response', Buffer.from('{}')); // orphan
    await inner.put('pair/yyyyyyyy/offer', Buffer.from('not json')); // junk
    await inner.put('pair/readme', Buffer.from('x')); // not a pairing object name
    await inner.put('config', Buffer.from('vault'));

    const deleted = await sweepExpiredOffers(remote, t0 + 60_000 + 11 * 60_000);
    const left = await pairObjects(inner);
    expect(left).toEqual([names(fresh.offerId).offer, 'pair/readme'].sort());
    expect(deleted).toBe(5); // old offer + its response and done + orphan + junk
    expect(await inner.stat('config')).not.toBeNull();
    // Within the grace period an expired offer stays.
    expect(await sweepExpiredOffers(remote, t0 + 3_600_000 + 60_000)).toBe(0);
    expect(await sweepExpiredOffers(remote, t0 + 3_600_000 + 60_000 + 10 * 60_000 + 1)).toBe(1);
  });
});

describe('an unreachable remote', () => {
  it('is ridden out while polling, and reported as itself when it lasts to the deadline', async () => {
    const remote = new MemoryRemote();
    const offer = await start(remote);
    const secret = randomBytes(16);
    const completed = offer.complete({ payload: () => secret });
    remote.offline = true;
    await new Promise((r) => setTimeout(r, 60));
    remote.offline = false;
    const b = await join(remote, offer.code);
    expect(b.payload.equals(secret)).toBe(true);
    expect((await completed).acknowledged).toBe(true);

    const offer2 = await start(remote, { ttlMs: 200 });
    remote.offline = true;
    await expect(offer2.complete({ payload: () => secret })).rejects.toMatchObject({ code: 'REMOTE_UNREACHABLE' });
    remote.offline = false;
    // Cleanup could not reach the remote either: the offer is litter for the sweeper.
    expect(remote.names()).toEqual([names(offer2.offerId).offer]);
    expect(await sweepExpiredOffers(remote, Date.now() + 11 * 60_000)).toBe(1);
    expect(remote.names()).toEqual([]);
  });
});

describe('argument checks', () => {
  it('refuses bad ids, names, lifetimes and device objects with USAGE', async () => {
    const remote = new MemoryRemote();
    for (const bad of [{ vaultId: 'x' }, { deviceId: 'AAAAAAAAAAAAAAAA' }, { deviceName: '' }, { deviceName: 'a\u0007b' }, { ttlMs: 0 }, { ttlMs: 2 * 3_600_000 }, { pollMs: 0 }]) {
      await expect(start(remote, bad), JSON.stringify(bad)).rejects.toMatchObject({ code: 'USAGE' });
    }
    const offer = await start(remote);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const device of [[] as unknown as Record<string, unknown>, cyclic, { big: 'x'.repeat(9000) }, JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>]) {
      await expect(join(remote, offer.code, { device })).rejects.toMatchObject({ code: 'USAGE' });
    }
    expect(await pairObjects(remote)).toEqual([names(offer.offerId).offer]);
    await offer.cancel();
    expect(remote.names()).toEqual([]);
  });
});

async function waitFor(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('waitFor: condition never became true');
}

/**
 * A remote that knows the code and relays between A (the real store) and B (the returned view):
 * it runs one protocol session with each side, re-MACing and re-encrypting everything, so both
 * sides see valid messages. Only the SAS differs.
 */
function relayAttack(real: Remote, code: string) {
  const kCode = spec.codeKey(code);
  const fakeA = x25519Generate(); // what B is shown as A's key
  const fakeB = x25519Generate(); // what A is shown as B's key
  const st: { offerA?: string; offerB?: string; respA?: string; respB?: string; pubA?: Buffer; pubB?: Buffer } = {};
  const stolen: Buffer[] = [];
  const sessionWithA = () => spec.session(x25519Shared(fakeB.privateKey, st.pubA!), kCode, st.offerA!, st.respA!, st.pubA!);
  const sessionWithB = () => spec.session(x25519Shared(fakeA.privateKey, st.pubB!), kCode, st.offerB!, st.respB!, fakeA.publicKey);
  const remote = new Tap(real, {
    get: (name, data) => {
      if (name.endsWith('/offer')) {
        st.offerA = spec.body(data);
        st.offerB = JSON.stringify({ ...JSON.parse(st.offerA), commitA: spec.commit(fakeA.publicKey).toString('base64') });
        return spec.envelope(st.offerB, spec.mac(kCode, 'offer', st.offerB));
      }
      if (name.endsWith('/reveal')) {
        const r = JSON.parse(data.toString()) as { pubA: string };
        st.pubA = Buffer.from(r.pubA, 'base64');
        return Buffer.from(JSON.stringify({ ...r, pubA: fakeA.publicKey.toString('base64') }));
      }
      if (name.endsWith('/grant')) {
        const a = sessionWithA();
        const payload = spec.open(a.key, a.t, data);
        stolen.push(payload);
        const b = sessionWithB();
        return spec.seal(b.key, b.t, payload, parsePairingCode(code).offerId);
      }
      return data;
    },
    put: (name, data) => {
      if (name.endsWith('/response')) {
        st.respB = spec.body(data);
        const r = JSON.parse(st.respB) as { pubB: string };
        st.pubB = Buffer.from(r.pubB, 'base64');
        st.respA = JSON.stringify({ ...r, pubB: fakeB.publicKey.toString('base64') });
        return spec.envelope(st.respA, spec.mac(kCode, 'response', st.offerA!, st.respA));
      }
      if (name.endsWith('/done')) {
        const body = spec.body(data);
        return spec.envelope(body, spec.mac(kCode, 'done', st.offerA!, st.respA!, body));
      }
      return data;
    },
  });
  return { remote, stolen };
}
