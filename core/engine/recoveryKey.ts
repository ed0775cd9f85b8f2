import { CcsError } from '../common/errors';

/**
 * Human form of a recovery key: Crockford base32 (no I, L, O, U; case-insensitive; 0/O and 1/I/L
 * read alike), in groups of four, so it can be printed and typed back. 160 bits → 32 characters.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function formatRecoveryKey(key: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of key) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out.match(/.{1,4}/g)!.join('-');
}

export function parseRecoveryKey(text: string, bytes = 20): Buffer {
  const clean = text.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (clean.length !== Math.ceil((bytes * 8) / 5) || [...clean].some((c) => !ALPHABET.includes(c))) {
    throw new CcsError('USAGE', `a recovery key is ${Math.ceil((bytes * 8) / 5)} characters from 0-9 and A-Z (without I, L, O, U), in groups of four`);
  }
  const out = Buffer.alloc(bytes);
  let bits = 0;
  let value = 0;
  let i = 0;
  for (const c of clean) {
    value = ((value << 5) | ALPHABET.indexOf(c)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[i++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}
