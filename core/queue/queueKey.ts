import { randomBytes } from 'node:crypto';
import { CcsError } from '../common/errors';
import { QueueFileCorrupt } from './openQueueFile';
import { PayloadCipher } from './payloadCipher';
import type { QueueDb } from './queueDb';

const SALT_LENGTH = 16;

/**
 * The payload cipher of a queue file; its salt and key check live in `meta`, written with the
 * file. A missing salt or check in a file that holds ops is damage (moved aside). A check that
 * does not match means another key: the file is intact, only not ours, so it is never moved aside.
 */
export function openPayloadCipher(db: QueueDb, key: Uint8Array, file: string): PayloadCipher {
  const read = (name: string): Buffer | undefined => (db.q('SELECT value FROM meta WHERE key = ?').get(name) as { value: Buffer } | undefined)?.value;
  const salt = read('key_salt');
  const check = read('key_check');
  if (salt === undefined || check === undefined) {
    if ((db.q('SELECT count(*) AS n FROM ops').get() as { n: number }).n > 0) throw new QueueFileCorrupt(`the key ${salt ? 'check' : 'salt'} is missing`);
    const fresh = randomBytes(SALT_LENGTH);
    const cipher = new PayloadCipher(key, fresh);
    db.write(true, () => {
      db.q("INSERT OR REPLACE INTO meta (key, value) VALUES ('key_salt', ?)").run(fresh);
      db.q("INSERT OR REPLACE INTO meta (key, value) VALUES ('key_check', ?)").run(cipher.keyCheck);
    });
    return cipher;
  }
  if (!Buffer.isBuffer(salt) || salt.length !== SALT_LENGTH) throw new QueueFileCorrupt('the key salt is damaged');
  const cipher = new PayloadCipher(key, salt);
  if (!Buffer.isBuffer(check) || !cipher.matches(check)) {
    throw new CcsError(
      'LOCKED',
      `the operation queue ${file} was written with a different key (another vault, or a changed local-state key), so its payloads cannot be read; move it aside to start a new queue`,
    );
  }
  return cipher;
}
