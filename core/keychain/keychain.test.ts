import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeychainUnavailableError, OsKeychain } from './keychain';

// Runs against the real Secret Service that `npm test` starts (gnome-keyring in a private D-Bus
// session). Without a session bus the store must fail loudly, never fall back to a file.
const hasBus = !!process.env.DBUS_SESSION_BUS_ADDRESS;

describe('OsKeychain', () => {
  it.runIf(hasBus)('round-trips, overwrites and deletes a secret in the real Secret Service', async () => {
    const kc = new OsKeychain('dev.ccjk.cloudsync.test');
    const account = `test-${randomBytes(6).toString('hex')}`;
    expect(await kc.get(account)).toBeNull();
    await kc.set(account, 'first');
    expect(await kc.get(account)).toBe('first');
    await kc.set(account, 'second');
    expect(await kc.get(account)).toBe('second');
    await kc.delete(account);
    expect(await kc.get(account)).toBeNull();
  });

  it('reports an unreachable keychain as KeychainUnavailableError', async () => {
    const saved = process.env.DBUS_SESSION_BUS_ADDRESS;
    process.env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/ccsync-test-bus';
    try {
      await expect(new OsKeychain('dev.ccjk.cloudsync.test').get('x')).rejects.toBeInstanceOf(KeychainUnavailableError);
    } finally {
      if (saved === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
      else process.env.DBUS_SESSION_BUS_ADDRESS = saved;
    }
  });
});
