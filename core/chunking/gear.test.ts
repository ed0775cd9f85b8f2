import { describe, expect, it } from 'vitest';
import { CcsError } from '../common/errors';
import { gearTable } from './gear';

describe('gearTable', () => {
  it('derives 256 entries deterministically from the seed', () => {
    const a = gearTable(Buffer.alloc(32, 7));
    expect(a).toHaveLength(256);
    expect(gearTable(Buffer.alloc(32, 7))).toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(250);
  });

  it('differs per seed', () => {
    const a = gearTable(Buffer.alloc(32, 1));
    const b = gearTable(Buffer.alloc(32, 2));
    expect(a.filter((v, i) => v === b[i]).length).toBeLessThan(3);
  });

  // Changing the derivation would move every boundary and silently break dedup in existing vaults.
  it('is stable across versions (known answer)', () => {
    const t = gearTable(Buffer.alloc(32, 0));
    expect(Array.from(t.subarray(0, 4), (v) => v.toString(16))).toEqual(KNOWN);
  });

  it('rejects a seed that is not 32 bytes', () => {
    expect(() => gearTable(Buffer.alloc(16))).toThrow(CcsError);
    expect(() => gearTable(Buffer.alloc(16))).toThrow('CDC gear seed must be 32 bytes, got 16');
  });
});

// HKDF-SHA256(ikm = 32 zero bytes, salt = empty, info = 'ccs/cdc-gear/v1'), checked with Python's hmac.
const KNOWN = ['f5482920', 'c1ccf8de', '71422a08', 'eea07c5a'];
