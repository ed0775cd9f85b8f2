import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { z } from 'zod';
import { CcsError } from '../../common/errors';
import { decodeBase64Strict } from '../../crypto/base64';
import { x25519Generate, x25519Shared } from '../../crypto/deviceKeys';
import type { KeyObject } from 'node:crypto';

/**
 * Anonymous public-key encryption of a key to an X25519 public key (ECIES, like libsodium's
 * sealed box): a fresh ephemeral key per box, HKDF-SHA256 over the shared secret bound to both
 * public keys and to a context string, AES-256-GCM. The key is used once, so a fixed nonce is safe.
 *
 * A box proves nothing about who sealed it (anyone knows the public key): callers check what it
 * opens to against an authenticated value (the epoch doc's `check`).
 */
export const SealedBoxSchema = z.object({ epk: z.string().max(64), ct: z.string().max(512) });
export type SealedBox = z.infer<typeof SealedBoxSchema>;

const NONCE = Buffer.alloc(12);

function boxKey(shared: Buffer, epk: Buffer, recipient: Buffer, context: string): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([epk, recipient]), Buffer.from(`ccsync/v2/sealed-box\0${context}`), 32));
}

export function sealTo(recipientPub: Buffer, plaintext: Buffer, context: string): SealedBox {
  const eph = x25519Generate();
  const key = boxKey(x25519Shared(eph.privateKey, recipientPub), eph.publicKey, recipientPub, context);
  const c = createCipheriv('aes-256-gcm', key, NONCE);
  const ct = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return { epk: eph.publicKey.toString('base64'), ct: ct.toString('base64') };
}

/** Null when the box was not sealed to this key or was modified. */
export function openSealed(recipientPriv: KeyObject, recipientPub: Buffer, box: SealedBox, context: string): Buffer | null {
  const epk = decodeBase64Strict(box.epk);
  const ct = decodeBase64Strict(box.ct);
  if (!epk || epk.length !== 32 || !ct || ct.length < 16) throw new CcsError('OBJECT_CORRUPT', 'sealed key box is malformed');
  let shared: Buffer;
  try {
    shared = x25519Shared(recipientPriv, epk);
  } catch {
    return null;
  }
  const d = createDecipheriv('aes-256-gcm', boxKey(shared, epk, recipientPub, context), NONCE);
  d.setAuthTag(ct.subarray(ct.length - 16));
  const out = d.update(ct.subarray(0, ct.length - 16));
  try {
    d.final();
  } catch {
    out.fill(0);
    return null;
  }
  return out;
}
