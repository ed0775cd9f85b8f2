import { AsyncEntry } from '@napi-rs/keyring';

/**
 * Where a device keeps its unlocked vault key between runs: the OS keychain (Secret Service on
 * Linux, Keychain on macOS, Credential Manager on Windows) through @napi-rs/keyring, which is
 * maintained, prebuilt and loads in both Node and Electron (keytar is archived).
 *
 * There is deliberately no file fallback: where no keychain exists the caller tells the user once
 * and asks for the password on every run, because a key written in clear to disk is a key leaked.
 */
export interface SecretStore {
  readonly kind: string;
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<void>;
}

/** The keychain could not be reached at all (no Secret Service, locked, denied). */
export class KeychainUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`no usable OS keychain: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'KeychainUnavailableError';
  }
}

export const KEYCHAIN_SERVICE = 'dev.ccjk.cloudsync';

export class OsKeychain implements SecretStore {
  readonly kind = 'os-keychain';
  constructor(private readonly service = KEYCHAIN_SERVICE) {}

  async get(account: string): Promise<string | null> {
    try {
      return await new AsyncEntry(this.service, account).getPassword();
    } catch (e) {
      throw new KeychainUnavailableError(e);
    }
  }

  async set(account: string, secret: string): Promise<void> {
    try {
      await new AsyncEntry(this.service, account).setPassword(secret);
    } catch (e) {
      throw new KeychainUnavailableError(e);
    }
  }

  async delete(account: string): Promise<void> {
    try {
      await new AsyncEntry(this.service, account).deleteCredential();
    } catch (e) {
      throw new KeychainUnavailableError(e);
    }
  }
}
