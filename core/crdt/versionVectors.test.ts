import { describe, expect, it } from 'vitest';
import { vvCovers, vvDevices, vvEqual, vvMin } from './versionVectors';

describe('version-vector helpers', () => {
  it('vvMin keeps what every vector has seen, and drops devices some lack', () => {
    expect(vvMin([{ a: 3, b: 1 }, { a: 2, c: 5 }])).toEqual({ a: 2 });
    expect(vvMin([{ a: 3 }])).toEqual({ a: 3 });
    expect(vvMin([])).toEqual({});
  });

  it('vvEqual treats missing and 0 alike', () => {
    expect(vvEqual({ a: 1, b: 0 }, { a: 1 })).toBe(true);
    expect(vvEqual({ a: 1 }, { a: 2 })).toBe(false);
  });

  it('vvCovers and vvDevices', () => {
    expect(vvCovers({ a: 2 }, 'a', 2)).toBe(true);
    expect(vvCovers({ a: 2 }, 'a', 3)).toBe(false);
    expect([...vvDevices([{ a: 1, b: 0 }, { c: 2 }])].sort()).toEqual(['a', 'c']);
  });
});
