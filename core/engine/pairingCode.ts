import { randomBytes } from 'node:crypto';
import { CcsError } from '../common/errors';

/**
 * The one-time pairing code a trusted device shows and the new device's user types (see
 * pairing.ts for the protocol it drives).
 *
 * Layout: 30 Crockford base32 characters (0-9, A-Z without I, L, O, U), printed after a `PAIR`
 * tag in six groups of five: `PAIR-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`.
 *   - characters 1-8: the offer id (40 random bits), which names the offer on the remote;
 *   - characters 9-28: the secret (100 random bits), which never leaves the two screens;
 *   - characters 29-30: a check value c = Σ (i+1)·v_i mod 1021 over the 28 values v_0..v_27,
 *     written as two digits base 32 (c ≤ 1020). 1021 is prime and every weight (≤ 28) and every
 *     difference of two values (≤ 31) is smaller, so every single wrong character and every swap
 *     of two different characters changes c: the typo is caught here, before the remote is asked.
 *
 * Parsing forgives what humans do: any case, spaces and dashes anywhere, the `PAIR` tag optional,
 * and the Crockford look-alikes O → 0, I/L → 1. Everything else is a USAGE error.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const OFFER_ID_LENGTH = 8;
export const SECRET_LENGTH = 20;
const CHECK_LENGTH = 2;
const BODY_LENGTH = OFFER_ID_LENGTH + SECRET_LENGTH;
const TOTAL_LENGTH = BODY_LENGTH + CHECK_LENGTH;
const TAG = 'PAIR';
const CHECK_MODULUS = 1021;
const GROUP = 5;
/** Longer input is not a mistyped code; refusing it early keeps parsing cheap. */
const MAX_INPUT_LENGTH = 200;

const OFFER_ID_RE = new RegExp(`^[${ALPHABET}]{${OFFER_ID_LENGTH}}$`);
const SECRET_RE = new RegExp(`^[${ALPHABET}]{${SECRET_LENGTH}}$`);

export interface PairingCode {
  /** 8 upper-case Crockford characters; lower-cased in object names. */
  offerId: string;
  /** 20 upper-case Crockford characters (100 bits). */
  secret: string;
}

export function newPairingCode(): PairingCode {
  // 256 is a multiple of 32, so the low five bits of a random byte are uniform.
  const bytes = randomBytes(BODY_LENGTH);
  let s = '';
  for (const b of bytes) s += ALPHABET[b & 31];
  bytes.fill(0);
  return { offerId: s.slice(0, OFFER_ID_LENGTH), secret: s.slice(OFFER_ID_LENGTH) };
}

function checkChars(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum = (sum + (i + 1) * ALPHABET.indexOf(body.charAt(i))) % CHECK_MODULUS;
  return ALPHABET.charAt(sum >> 5) + ALPHABET.charAt(sum & 31);
}

export function isOfferId(s: string): boolean {
  return OFFER_ID_RE.test(s);
}

export function formatPairingCode(code: PairingCode): string {
  if (!OFFER_ID_RE.test(code.offerId) || !SECRET_RE.test(code.secret)) {
    throw new CcsError('INTERNAL', 'formatPairingCode: offer id or secret is not canonical Crockford base32 of the right length');
  }
  const body = code.offerId + code.secret;
  const all = body + checkChars(body);
  const groups: string[] = [];
  for (let i = 0; i < all.length; i += GROUP) groups.push(all.slice(i, i + GROUP));
  return [TAG, ...groups].join('-');
}

const SHAPE_HINT = `a pairing code looks like ${TAG}-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX: ${TOTAL_LENGTH} characters from 0-9 and A-Z (without I, L, O, U)`;

export function parsePairingCode(text: string): PairingCode {
  if (typeof text !== 'string' || text.length > MAX_INPUT_LENGTH) throw new CcsError('USAGE', SHAPE_HINT);
  let clean = text.toUpperCase().replace(/[\s-]/g, '');
  // The tag is recognised by length, so a code whose own characters happen to spell it is kept.
  if (clean.length === TAG.length + TOTAL_LENGTH && clean.startsWith(TAG)) clean = clean.slice(TAG.length);
  clean = clean.replace(/O/g, '0').replace(/[IL]/g, '1');
  if (clean.length !== TOTAL_LENGTH || [...clean].some((c) => !ALPHABET.includes(c))) {
    throw new CcsError('USAGE', SHAPE_HINT);
  }
  const body = clean.slice(0, BODY_LENGTH);
  if (checkChars(body) !== clean.slice(BODY_LENGTH)) {
    throw new CcsError('USAGE', 'this pairing code contains a typo (its last two characters do not match the rest): type it again');
  }
  return { offerId: body.slice(0, OFFER_ID_LENGTH), secret: body.slice(OFFER_ID_LENGTH) };
}
