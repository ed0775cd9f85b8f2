import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCcsError } from '../common/errors';
import { assertProperty } from '../test-support/fc';
import { formatPairingCode, newPairingCode, parsePairingCode, type PairingCode } from './pairingCode';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const crockford = (n: number) => fc.array(fc.constantFrom(...ALPHABET), { minLength: n, maxLength: n }).map((a) => a.join(''));
const codeArb: fc.Arbitrary<PairingCode> = fc.record({ offerId: crockford(8), secret: crockford(20) });

function usageOrOk(text: string): boolean {
  try {
    const c = parsePairingCode(text);
    return /^[0-9A-HJKMNP-TV-Z]{8}$/.test(c.offerId) && /^[0-9A-HJKMNP-TV-Z]{20}$/.test(c.secret);
  } catch (e) {
    return isCcsError(e, 'USAGE');
  }
}

/** The 30 code characters of a formatted code, without the tag and dashes. */
const charsOf = (formatted: string) => formatted.slice('PAIR-'.length).replace(/-/g, '');
const regroup = (chars: string) => `PAIR-${chars.match(/.{5}/g)!.join('-')}`;

describe('pairing codes', () => {
  it('are PAIR plus six groups of five, carrying a fresh 40-bit offer id and 100-bit secret', () => {
    const a = newPairingCode();
    const b = newPairingCode();
    expect(a.offerId).toMatch(/^[0-9A-HJKMNP-TV-Z]{8}$/);
    expect(a.secret).toMatch(/^[0-9A-HJKMNP-TV-Z]{20}$/);
    expect(a.secret).not.toBe(b.secret);
    expect(formatPairingCode(a)).toMatch(/^PAIR(-[0-9A-HJKMNP-TV-Z]{5}){6}$/);
    expect(formatPairingCode(a).startsWith(`PAIR-${a.offerId.slice(0, 5)}-${a.offerId.slice(5)}`)).toBe(true);
  });

  it('parse what people type: any case, spacing, no tag, O/I/L look-alikes', () => {
    const code = { offerId: '01234567', secret: '89ABCDEFGHJKMNPQRSTV' };
    const text = formatPairingCode(code);
    expect(parsePairingCode(text)).toEqual(code);
    expect(parsePairingCode(text.toLowerCase())).toEqual(code);
    expect(parsePairingCode(`  ${charsOf(text).match(/.{3}/g)!.join(' ')} `)).toEqual(code);
    expect(parsePairingCode(text.replace(/-/g, ''))).toEqual(code);
    expect(parsePairingCode(text.replace('PAIR-', '').replace('01', 'oI'))).toEqual(code);
    expect(parsePairingCode(text.replace('PAIR-01', 'PAIR-Ol'))).toEqual(code);
  });

  it('refuse wrong lengths, foreign characters and typos with USAGE', () => {
    const text = formatPairingCode({ offerId: '01234567', secret: '89ABCDEFGHJKMNPQRSTV' });
    for (const bad of ['', 'PAIR', text.slice(0, -1), `${text}0`, text.replace(/.$/, 'U'), text.replace('5', '*'), 'x'.repeat(500)]) {
      expect(() => parsePairingCode(bad), bad).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
    const chars = charsOf(text);
    const typo = regroup(chars.slice(0, 10) + (chars[10] === 'A' ? 'B' : 'A') + chars.slice(11));
    expect(() => parsePairingCode(typo)).toThrow(/typo/);
  });

  it('round-trip format → parse, also after case and spacing changes (property)', async () => {
    await assertProperty(
      fc.property(codeArb, fc.boolean(), fc.constantFrom('', ' ', '-', '  '), (code, lower, sep) => {
        let text = formatPairingCode(code);
        if (lower) text = text.toLowerCase();
        text = text.replace(/-/g, sep);
        const back = parsePairingCode(text);
        expect(back).toEqual(code);
      }),
      300,
    );
  });

  it('catch every single wrong character and every swap of two different characters (property)', async () => {
    await assertProperty(
      fc.property(codeArb, fc.nat(29), fc.nat(29), fc.constantFrom(...ALPHABET), (code, i, j, c) => {
        const chars = charsOf(formatPairingCode(code));
        if (chars[i] !== c) {
          const substituted = chars.slice(0, i) + c + chars.slice(i + 1);
          expect(() => parsePairingCode(regroup(substituted))).toThrow(expect.objectContaining({ code: 'USAGE' }));
        }
        if (chars[i] !== chars[j]) {
          const a = [...chars];
          [a[i], a[j]] = [a[j] as string, a[i] as string];
          expect(() => parsePairingCode(regroup(a.join('')))).toThrow(expect.objectContaining({ code: 'USAGE' }));
        }
      }),
      500,
    );
  });

  it('never fail on arbitrary input except with USAGE (property)', async () => {
    const nearCode = codeArb.chain((code) =>
      fc.tuple(fc.constant(formatPairingCode(code)), fc.nat(40), fc.string({ maxLength: 3 })).map(([t, at, ins]) => t.slice(0, at) + ins + t.slice(at + 1)),
    );
    await assertProperty(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 300 }), nearCode), (text) => {
        expect(usageOrOk(text)).toBe(true);
      }),
      1000,
    );
  });
});
