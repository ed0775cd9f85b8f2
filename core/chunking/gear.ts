import { hkdfSync } from 'node:crypto';
import { CcsError } from '../common/errors';

const SEED_BYTES = 32;
// Domain separation: the same vault seed may feed other derivations later.
const INFO = Buffer.from('ccs/cdc-gear/v1');

/**
 * A per-vault gear table. With a public table, chunk lengths of a known file are the same in every
 * vault and leak which files a vault holds even through encryption; a secret table makes boundaries
 * vault-specific (restic picks a random polynomial per repository for the same reason).
 */
export function gearTable(seed: Buffer): Uint32Array {
  if (seed.length !== SEED_BYTES) {
    throw new CcsError('CONFIG_INVALID', `CDC gear seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
  }
  const bytes = Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), INFO, 256 * 4));
  const table = new Uint32Array(256);
  // Read little-endian explicitly so the table (and thus every boundary) is the same on any host.
  for (let i = 0; i < 256; i++) table[i] = bytes.readUInt32LE(i * 4);
  return table;
}
