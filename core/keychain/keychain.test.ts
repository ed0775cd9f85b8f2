import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OsKeychain } from './keychain';

// Runs against the real Secret Service that `npm test` starts (gnome-keyring in a private D-Bus
// session). The "no Secret Service" path runs in a child process in test/cli.twoDevices.test.ts,
// because the keyring library keeps its D-Bus connection for the life of a process.
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

});
