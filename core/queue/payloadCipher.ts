import { createCipheriv, createDecipheriv, hkdfSync, randomFillSync } from 'node:crypto';
import { CcsError } from '../common/errors';
import { KEY_LENGTH, assertKey, timingSafeEqualBuf } from '../crypto/keys';

const VERSION = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const PAYLOAD_INFO = 'ccsync/v1/queue/payload';
const CHECK_INFO = 'ccsync/v1/queue/key-check';

/**
 * AES-256-GCM for op payloads at rest: version u8 | nonce[12] | ciphertext | tag[16].
 *
 * The key is derived per queue file (HKDF with a random salt kept in the file), so a queue that was
 * moved aside and recreated starts a fresh key, and random 96-bit nonces stay far below the ~2^32
 * encryptions per key at which they begin to risk a collision. The AAD binds each payload to its
 * op's idempotency key, so payloads cannot be swapped between rows unnoticed.
 */
export class PayloadCipher {
  private readonly key: Buffer;
  /** Stored in the file: proves at open that the caller's key is the one that wrote it. */
  readonly keyCheck: Buffer;
  /** Nonces come from a CSPRNG pool: one call per 4,096 nonces instead of one per payload (2–4 µs each here). */
  private readonly noncePool = Buffer.alloc(NONCE_LENGTH * 4096);
  private noncePos = this.noncePool.length;

  constructor(callerKey: Uint8Array, salt: Buffer) {
    assertKey(callerKey, 'queue key');
    this.key = Buffer.from(hkdfSync('sha256', callerKey, salt, PAYLOAD_INFO, KEY_LENGTH));
    this.keyCheck = Buffer.from(hkdfSync('sha256', callerKey, salt, CHECK_INFO, KEY_LENGTH));
  }

  matches(storedCheck: Buffer): boolean {
    return timingSafeEqualBuf(this.keyCheck, storedCheck);
  }

  seal(payload: unknown, idempotencyKey: string): Buffer {
    const json = JSON.stringify(payload ?? null);
    if (json === undefined) throw new CcsError('USAGE', 'queue payload must be JSON-serializable');
    const nonce = this.nextNonce();
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_LENGTH });
    cipher.setAAD(aad(idempotencyKey));
    return Buffer.concat([Buffer.of(VERSION), nonce, cipher.update(json, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  }

  /** Throws OBJECT_CORRUPT naming the op: the key was checked at open, so a failure here is damage. */
  open(sealed: Buffer, idempotencyKey: string, opId: number): unknown {
    if (sealed.length < 1 + NONCE_LENGTH + TAG_LENGTH || sealed[0] !== VERSION) {
      throw new CcsError('OBJECT_CORRUPT', `queue op #${opId}: payload is damaged (bad header)`);
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(1, 1 + NONCE_LENGTH), { authTagLength: TAG_LENGTH });
    decipher.setAAD(aad(idempotencyKey));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
    let json: string;
    try {
      json = decipher.update(sealed.subarray(1 + NONCE_LENGTH, sealed.length - TAG_LENGTH), undefined, 'utf8') + decipher.final('utf8');
    } catch (e) {
      throw new CcsError('OBJECT_CORRUPT', `queue op #${opId}: payload fails authentication (damaged or tampered)`, { cause: e });
    }
    return JSON.parse(json) as unknown;
  }

  private nextNonce(): Buffer {
    if (this.noncePos >= this.noncePool.length) {
      randomFillSync(this.noncePool);
      this.noncePos = 0;
    }
    return this.noncePool.subarray(this.noncePos, (this.noncePos += NONCE_LENGTH));
  }
}

function aad(idempotencyKey: string): Buffer {
  return Buffer.from(`${PAYLOAD_INFO}\0${idempotencyKey}`, 'utf8');
}
