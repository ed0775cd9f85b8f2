import { CcsError } from '../../common/errors';
import type { StateDb } from '../../vault/stateDb';
import type { Keyring } from './keyring';

/**
 * Trust on first use for key epochs: each device remembers the digest of every epoch doc it has
 * verified. A past epoch that later reads differently was rewritten on the remote (by someone who
 * held an old key, e.g. a revoked device with write access to the storage): refused.
 */
export function checkEpochPins(db: StateDb, ring: Keyring): void {
  const raw = db.getMeta('epochPins');
  const pins = new Map<number, string>(raw ? (JSON.parse(raw) as Array<[number, string]>) : []);
  for (const [epoch, digest] of pins) {
    const now = ring.digests.get(epoch);
    if (now === undefined) throw new CcsError('OBJECT_CORRUPT', `key epoch ${epoch}, which this device verified before, is gone from the remote`);
    if (now !== digest) throw new CcsError('OBJECT_CORRUPT', `key epoch ${epoch} changed on the remote since this device verified it: refused (possible tampering)`);
  }
  if ([...ring.digests.keys()].some((e) => !pins.has(e))) db.setMeta('epochPins', JSON.stringify([...ring.digests]));
}
