import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CcsError } from '../common/errors';
import { writeFileAtomic } from '../vault/localFs';

/** Per-device settings in `<home>/device.json`. Holds no secret: keys live in the OS keychain. */
const DeviceConfigSchema = z.object({
  format: z.literal(1),
  deviceId: z.string().regex(/^[0-9a-f]{16}$/),
  deviceName: z.string().min(1).max(200),
  vaultId: z.string().regex(/^[0-9a-f]{32}$/),
  root: z.string().min(1),
  remote: z.string().min(1),
  /** 'os': the master key is in the OS keychain; 'none': ask for the password on every run. */
  keyStore: z.enum(['os', 'none']),
  /**
   * The device's identity seed, wrapped by a key derived from the vault's master key: not a secret
   * on its own, it lets a device without a keychain (or run with --password-stdin) sign as itself.
   */
  deviceKey: z.object({ nonce: z.string().max(64), ciphertext: z.string().max(256) }),
  /** Default bandwidth limit of this device's syncs, e.g. "5M" (`--bwlimit` and CCSYNC_BWLIMIT override it). */
  bwlimit: z.string().max(32).optional(),
});
export type DeviceConfig = z.infer<typeof DeviceConfigSchema>;

export const configPath = (home: string) => join(home, 'device.json');

export async function readDeviceConfig(home: string): Promise<DeviceConfig> {
  let text: string;
  try {
    text = await readFile(configPath(home), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CcsError('NOT_INITIALIZED', `no device set up in ${home}; run \`ccsync init\` (new vault) or \`ccsync join\` (existing vault)`);
    }
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CcsError('CONFIG_INVALID', `${configPath(home)} is not valid JSON; fix it or remove it and run \`ccsync join\` again`);
  }
  const r = DeviceConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new CcsError('CONFIG_INVALID', `${configPath(home)}: ${issue?.path.join('.') || 'document'}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

export async function writeDeviceConfig(home: string, config: DeviceConfig): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  await writeFileAtomic(configPath(home), Buffer.from(JSON.stringify(config, null, 2) + '\n'), 0o600);
}
