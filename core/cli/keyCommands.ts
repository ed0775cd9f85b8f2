import type { Command } from 'commander';
import { openDeviceQueue } from '../engine/deviceQueue';
import { listDevices, proveDevice, revokeDevice, rotateDataKey } from '../engine/keyOps';
import { drainReencryption, planReencryption, type ReencryptProgress } from '../engine/reencrypt';
import type { DeviceSession } from '../engine/session';
import { print, withSession } from './common';

type Opts = { json?: boolean; passwordStdin?: boolean };

/** Re-encrypts everything not yet under the current epoch, through the device queue (resumable). */
async function reencrypt(s: DeviceSession, json: boolean): Promise<ReencryptProgress> {
  const queue = await openDeviceQueue(s.home, s.config, { onNotice: (m) => process.stderr.write(`notice: ${m}\n`) });
  try {
    await planReencryption(s, queue, s.keys.currentEpoch);
    let last = 0;
    const r = await drainReencryption(s, queue, {
      onProgress: (p) => {
        if (json || Date.now() - last < 1000) return;
        last = Date.now();
        process.stderr.write(`re-encrypting: ${p.done}/${p.total} objects (${p.rewritten} rewritten)\n`);
      },
    });
    return r;
  } finally {
    queue.close();
  }
}

export function registerKeyCommands(program: Command): void {
  program
    .command('rotate-key')
    .description('start a new data-key epoch that all new writes use at once; --reencrypt also rewrites existing objects under it (resumable)')
    .option('--reencrypt', 're-encrypt every existing object under the new key, in the background of this command, with checkpoints')
    .option('--resume', 'continue an interrupted re-encryption without starting another epoch')
    .option('--json', 'print JSON')
    .option('--password-stdin', 'read the password from standard input instead of the keychain')
    .action(async (opts: Opts & { reencrypt?: boolean; resume?: boolean }, cmd: Command) => {
      let epoch: number | null = null;
      if (!opts.resume) {
        epoch = (await withSession(cmd, opts, (s) => rotateDataKey(s))).epoch;
        if (!opts.json) process.stderr.write(`started key epoch ${epoch}; every new write uses it from now on\n`);
      }
      let progress: ReencryptProgress | null = null;
      if (opts.reencrypt || opts.resume) {
        // A fresh session: it loads the key chain including the epoch just created.
        progress = await withSession(cmd, opts, async (s) => {
          epoch ??= s.keys.currentEpoch;
          return reencrypt(s, !!opts.json);
        });
      }
      print(!!opts.json, { epoch, reencrypt: progress }, progress ? `key epoch ${epoch}: ${progress.rewritten} objects re-encrypted, ${progress.skipped} already current` : `key epoch ${epoch} is current; existing objects keep their old (still valid) key until re-encrypted with --reencrypt`);
    });

  program
    .command('devices')
    .description('list the devices of this vault, with key fingerprints and status')
    .option('--json', 'print JSON')
    .option('--password-stdin', 'read the password from standard input instead of the keychain')
    .action(async (opts: Opts, cmd: Command) => {
      const r = await withSession(cmd, opts, (s) => listDevices(s));
      print(!!opts.json, r, [
        `key epoch ${r.epoch}`,
        ...r.devices.map((d) => `${d.thisDevice ? '*' : ' '} ${d.id}  ${d.name.padEnd(16)} ${d.status.padEnd(8)} ${d.fingerprint}${d.revokedAt ? `  revoked ${d.revokedAt}` : ''}`),
      ].join('\n'));
    });

  program
    .command('revoke <deviceId>')
    .description('revoke a device: rotate the data key without it and refuse its later writes')
    .option('--json', 'print JSON')
    .option('--password-stdin', 'read the password from standard input instead of the keychain')
    .action(async (deviceId: string, opts: Opts, cmd: Command) => {
      const r = await withSession(cmd, opts, (s) => revokeDevice(s, deviceId));
      print(!!opts.json, r, [
        `revoked ${r.device.name} (${r.device.id}); key epoch ${r.epoch} excludes it, and its writes after entry ${r.lastSeq} are refused by every device.`,
        'If that device ever knew the vault password, change it now with `ccsync passwd`, then run `ccsync rotate-key` once more.',
        'Revoke its access to the storage too (credentials, share): it can no longer read new data, but it could still delete objects.',
      ].join('\n'));
    });

}

/** `ccsync verify --device`: proof of possession of this device's registered key. */
export async function verifyDevice(cmd: Command, opts: Opts, setExit: (code: number) => void): Promise<void> {
  const r = await withSession(cmd, opts, (s) => proveDevice(s));
  print(!!opts.json, r, `${r.ok ? 'ok' : 'FAILED'}: device ${r.device} (key ${r.fingerprint}): ${r.detail}`);
  if (!r.ok) setExit(1);
}

