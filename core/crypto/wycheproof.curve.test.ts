import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ed25519Verify, x25519PrivateFromRaw, x25519Shared } from './deviceKeys';

// Every Wycheproof X25519 and Ed25519 vector through the exact functions the product uses.
const load = (f: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/wycheproof/${f}`, import.meta.url), 'utf8'));

describe('Wycheproof X25519 (XDH)', () => {
  it('valid and acceptable vectors agree; all-zero shared secrets are rejected', () => {
    const doc = load('x25519_test.json');
    let ran = 0;
    let zero = 0;
    for (const g of doc.testGroups) {
      for (const t of g.tests) {
        ran++;
        const priv = x25519PrivateFromRaw(Buffer.from(t.private, 'hex'));
        const expected = Buffer.from(t.shared, 'hex');
        if (expected.every((b: number) => b === 0)) {
          zero++;
          expect(() => x25519Shared(priv, Buffer.from(t.public, 'hex')), `tcId ${t.tcId}`).toThrow(/low order/);
          continue;
        }
        if (t.result === 'invalid') {
          let out: Buffer | null = null;
          try {
            out = x25519Shared(priv, Buffer.from(t.public, 'hex'));
          } catch {
            out = null;
          }
          expect(out === null || !out.equals(expected), `tcId ${t.tcId}`).toBe(true);
          continue;
        }
        expect(x25519Shared(priv, Buffer.from(t.public, 'hex')).toString('hex'), `tcId ${t.tcId} ${t.comment}`).toBe(t.shared);
      }
    }
    console.log(`X25519: ${ran} vectors run, ${zero} all-zero shared secrets refused`);
    expect(ran).toBe(518);
    expect(zero).toBeGreaterThan(0);
  });
});

describe('Wycheproof Ed25519', () => {
  it('valid signatures verify, invalid ones do not', () => {
    const doc = load('ed25519_test.json');
    let ran = 0;
    for (const g of doc.testGroups) {
      const pk = Buffer.from(g.publicKey.pk, 'hex');
      for (const t of g.tests) {
        ran++;
        const ok = ed25519Verify(pk, Buffer.from(t.msg, 'hex'), Buffer.from(t.sig, 'hex'));
        expect(ok, `tcId ${t.tcId} ${t.comment}`).toBe(t.result === 'valid');
      }
    }
    console.log(`Ed25519: ${ran} vectors run`);
    expect(ran).toBe(151);
  });
});
