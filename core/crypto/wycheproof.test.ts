/**
 * Google Wycheproof vectors (Apache-2.0, test/fixtures/wycheproof/LICENSE) run through Node's crypto
 * exactly as core/crypto calls it, so an OpenSSL or Node regression in a primitive we depend on
 * fails here rather than in a user's vault. Vectors for parameters we never use (other key, IV or
 * tag sizes) are counted and reported as skipped, never dropped silently.
 */
import { createCipheriv, createDecipheriv, hkdfSync, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { hmacSha256, timingSafeEqualBuf, unwrapKey } from './keys';

type Result = 'valid' | 'invalid' | 'acceptable';
interface Vector {
  tcId: number;
  comment: string;
  result: Result;
  [field: string]: unknown;
}
interface Group {
  tests: Vector[];
  [field: string]: unknown;
}
interface VectorFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: Group[];
}

function load(name: string): VectorFile {
  return JSON.parse(readFileSync(new URL(`../../test/fixtures/wycheproof/${name}`, import.meta.url), 'utf8')) as VectorFile;
}

const hex = (v: unknown): Buffer => Buffer.from(v as string, 'hex');

interface Tally {
  ran: number;
  skipped: number;
  reasons: Map<string, number>;
  acceptable: number;
}

const summary: string[] = [];
afterAll(() => {
  console.info(`Wycheproof summary:\n  ${summary.join('\n  ')}`);
});

/** Runs every applicable vector through `check`, which says whether our use of the primitive accepted it. */
function runFile(
  file: VectorFile,
  skipReason: (group: Group, test: Vector) => string | null,
  check: (group: Group, test: Vector) => boolean,
): Tally {
  const tally: Tally = { ran: 0, skipped: 0, reasons: new Map(), acceptable: 0 };
  const failures: string[] = [];
  for (const group of file.testGroups) {
    for (const test of group.tests) {
      const reason = skipReason(group, test);
      if (reason !== null) {
        tally.skipped++;
        tally.reasons.set(reason, (tally.reasons.get(reason) ?? 0) + 1);
        continue;
      }
      tally.ran++;
      let accepted: boolean;
      try {
        accepted = check(group, test);
      } catch {
        accepted = false;
      }
      // "acceptable" vectors are legal but unusual inputs: either outcome is correct.
      if (test.result === 'acceptable') tally.acceptable++;
      else if (accepted !== (test.result === 'valid')) failures.push(`tcId ${test.tcId} (${test.result}, ${test.comment}): ${accepted ? 'accepted' : 'rejected'}`);
    }
  }
  const reasons = [...tally.reasons].map(([r, n]) => `${n} ${r}`).join('; ') || 'none';
  summary.push(`${file.algorithm}: ran ${tally.ran} of ${file.numberOfTests} (${tally.acceptable} acceptable), skipped ${tally.skipped}: ${reasons}`);
  expect(failures).toEqual([]);
  expect(tally.ran).toBeGreaterThan(0);
  expect(tally.ran + tally.skipped).toBe(file.numberOfTests);
  return tally;
}

describe('Wycheproof', () => {
  it('AES-GCM: AES-256, 96-bit IV, 128-bit tag (our only parameters)', () => {
    const file = load('aes_gcm_test.json');
    let viaUnwrap = 0;
    const tally = runFile(
      file,
      (g) => (g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128 ? null : 'not AES-256 / 96-bit IV / 128-bit tag (unused by us)'),
      (_g, t) => {
        const [key, iv, aad, msg, ct, tag] = [hex(t.key), hex(t.iv), hex(t.aad), hex(t.msg), hex(t.ct), hex(t.tag)];
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
        decipher.setAAD(aad);
        decipher.setAuthTag(tag);
        const opened = Buffer.concat([decipher.update(ct), decipher.final()]); // final() throws on a bad tag
        if (!opened.equals(msg)) return false;
        const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
        cipher.setAAD(aad);
        const sealed = Buffer.concat([cipher.update(msg), cipher.final()]);
        if (!sealed.equals(ct) || !cipher.getAuthTag().equals(tag)) return false;
        // unwrapKey takes its AAD as a string: only AADs that survive a UTF-8 round trip apply.
        if (Buffer.from(aad.toString('utf8'), 'utf8').equals(aad)) {
          viaUnwrap++;
          const wrapped = { nonce: iv.toString('base64'), ciphertext: Buffer.concat([ct, tag]).toString('base64') };
          if (!unwrapKey(key, wrapped, aad.toString('utf8'))?.equals(msg)) return false;
        }
        return true;
      },
    );
    summary.push(`AES-GCM: ${viaUnwrap} of ${tally.ran} also run through unwrapKey (UTF-8 AAD)`);
    expect(viaUnwrap).toBeGreaterThan(0);
  });

  it('HKDF-SHA256 via crypto.hkdfSync', () => {
    runFile(
      load('hkdf_sha256_test.json'),
      () => null,
      (_g, t) => {
        const okm = Buffer.from(hkdfSync('sha256', hex(t.ikm), hex(t.salt), hex(t.info), t.size as number));
        return okm.equals(hex(t.okm));
      },
    );
  });

  it('HMAC-SHA256 via hmacSha256 + timingSafeEqualBuf, truncating to each group tag size', () => {
    runFile(
      load('hmac_sha256_test.json'),
      () => null,
      (g, t) => {
        const mac = hmacSha256(hex(t.key), hex(t.msg)).subarray(0, (g.tagSize as number) / 8);
        return timingSafeEqualBuf(mac, hex(t.tag));
      },
    );
  });

  it('PBKDF2-HMAC-SHA256 via crypto.pbkdf2Sync', () => {
    // deriveKek passes NFC UTF-8 bytes to the async form of the same function; these vectors pass raw bytes.
    runFile(
      load('pbkdf2_hmacsha256_test.json'),
      (_g, t) => ((t.iterationCount as number) > 1_000_000 ? 'iteration count above 1,000,000 (too slow for a unit test)' : null),
      (_g, t) => pbkdf2Sync(hex(t.password), hex(t.salt), t.iterationCount as number, t.dkLen as number, 'sha256').equals(hex(t.dk)),
    );
  });
});
