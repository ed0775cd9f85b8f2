import { CcsError } from '../../common/errors';
import type { Remote } from '../../remotes/remote';
import type { VaultKeys } from '../vaultKeys';
import { newerEpochExists } from './keyring';

/**
 * A device must not go on writing under an epoch the vault has left: after a revocation that key
 * is known to the revoked device. Checked before every log entry is published (one stat).
 */
export async function assertCurrentEpoch(remote: Remote, keys: VaultKeys): Promise<void> {
  if (await newerEpochExists(remote, keys.ring)) {
    throw new CcsError('LOCKED', `the vault moved to a new data key (epoch ${keys.ring.current + 1}) while this device was using epoch ${keys.ring.current}; nothing was published under the old key. Run the command again; if this device was not given the new key, re-pair it (\`ccsync pair\` on a trusted device, then \`ccsync join --pair CODE\`) or give the password with --password-stdin`);
  }
}
