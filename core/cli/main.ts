import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { CcsError, isCcsError } from '../common/errors';
import { releaseRemote } from '../engine/session';
import { readDeviceConfig } from '../engine/deviceConfig';
import { openRemote } from '../remotes/url';
import { remoteSelfTest } from '../remotes/selfTest';
import { initDevice, joinDevice } from '../engine/setup';
import { readStatus } from '../engine/status';
import { historyOf, listConflicts, resolveConflict, restoreVersion, type Keep } from '../engine/conflicts';
import { verifyRemote } from '../engine/verify';
import { APP_VERSION } from '../engine/format';
import { closeCryptoOffload } from '../crypto/cryptoOffload';
import { promptHidden, readStdinLines } from './io';
import { createProgressDisplay, parseBandwidth, runSyncInteractive } from './progressBar';
import { homeOf, passwordFrom, print, withSession } from './common';
import { registerKeyCommands, verifyDevice } from './keyCommands';
import { joinByPairingCli, registerPairCommand } from './pairCommands';
import { registerQueueCommands, syncThroughQueue } from './queueCommands';
import { changePassword, createRecoverySlot } from '../engine/vaultKeys';
import { formatRecoveryKey, parseRecoveryKey } from '../engine/recoveryKey';

/** Exit codes are a public interface (scripts rely on them): add, never renumber. */
export const EXIT = { ok: 0, failure: 1, usage: 2, conflicts: 3, locked: 4 } as const;

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('ccsync')
    .description('End-to-end encrypted sync of Claude Code configuration through storage you control')
    .version(APP_VERSION)
    .option('--home <dir>', 'per-device state directory (default: $CCSYNC_HOME or ~/.ccsync)')
    // Global options go before the command (`ccsync --home H sync`), which frees `restore --version ID`.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const setup = (name: 'init' | 'join', description: string) => {
    const c = program
      .command(name)
      .description(description)
      .requiredOption('--root <dir>', 'the folder to sync (usually ~/.claude)')
      .requiredOption('--remote <url>', 'where the encrypted vault lives: an absolute folder path or file:///…')
      .option('--device-name <name>', 'how other devices see this one (default: host name)')
      .option('--password-stdin', 'read the vault password from the first line of standard input')
      .option('--json', 'print JSON');
    if (name === 'init') c.addOption(new Option('--kdf <alg>', 'password key derivation').choices(['argon2id', 'scrypt', 'pbkdf2']).default('argon2id'));
    if (name === 'init') c.addOption(new Option('--compression <codec>', 'per-chunk compression for the new vault').choices(['none', 'deflate', 'brotli', 'zstd']).default('deflate'));
    if (name === 'join') c.option('--recovery-key-stdin', 'restore with the recovery key (from `ccsync recovery-kit`) read from standard input instead of the password');
    if (name === 'join') c.option('--pair <code>', 'join with the one-time code that `ccsync pair` shows on a trusted device, instead of the password');
    c.action(async (opts: { root: string; remote: string; deviceName?: string; passwordStdin?: boolean; recoveryKeyStdin?: boolean; pair?: string; json?: boolean; kdf?: string; compression?: string }, cmd: Command) => {
      const recoveryKey = opts.recoveryKeyStdin ? parseRecoveryKey((await readStdinLines(1))[0]!) : undefined;
      const paired = opts.pair ? joinByPairingCli(opts.pair, !!opts.json) : undefined;
      const password = recoveryKey || paired ? '' : (await passwordFrom(opts, true, name === 'init'))!;
      const args = {
        home: homeOf(cmd),
        root: opts.root,
        remote: opts.remote,
        password,
        ...(recoveryKey ? { recoveryKey } : {}),
        ...(paired ? { paired } : {}),
        ...(opts.deviceName ? { deviceName: opts.deviceName } : {}),
        ...(opts.kdf ? { kdf: opts.kdf === 'pbkdf2' ? ('pbkdf2-sha256' as const) : (opts.kdf as 'argon2id' | 'scrypt') } : {}),
        ...(opts.compression ? { compression: opts.compression as 'none' | 'deflate' | 'brotli' | 'zstd' } : {}),
      };
      const r = name === 'init' ? await initDevice(args) : await joinDevice(args);
      if (r.warning) process.stderr.write(`warning: ${r.warning}\n`);
      print(!!opts.json, { device: { id: r.config.deviceId, name: r.config.deviceName }, vaultId: r.config.vaultId, root: r.config.root, remote: r.config.remote, keyStore: r.config.keyStore },
        `${name === 'init' ? 'Created vault' : 'Joined vault'} ${r.config.vaultId} as device ${r.config.deviceName} (${r.config.deviceId}).\nRoot: ${r.config.root}\nRemote: ${r.config.remote}\nNext: ccsync sync`);
    });
  };
  setup('init', 'create a new encrypted vault on the remote and set up this device');
  setup('join', 'add this device to an existing vault');

  program
    .command('sync')
    .description('push local changes and pull remote ones')
    .option('--json', 'print only a JSON summary')
    .option('--dry-run', 'show what would be pushed, pulled, merged and which items would conflict; change nothing')
    .option('--allow-mass-delete', 'allow a sync that deletes more than half of the tracked files')
    .option('--password-stdin', 'read the password from standard input instead of the keychain')
    .option('--bwlimit <rate>', 'cap the bandwidth: 5M (= 5 MB/s), 500k, 1.5MiB/s, bytes; 0 = none (default: $CCSYNC_BWLIMIT)')
    .action(async (opts: { json?: boolean; dryRun?: boolean; allowMassDelete?: boolean; passwordStdin?: boolean; bwlimit?: string }, cmd: Command) => {
      const envLimit = process.env.CCSYNC_BWLIMIT;
      const configured = opts.bwlimit === undefined && !envLimit ? (await readDeviceConfig(homeOf(cmd)).catch(() => null))?.bwlimit : undefined;
      const bwlimit = opts.bwlimit !== undefined ? parseBandwidth(opts.bwlimit) : envLimit ? parseBandwidth(envLimit, 'CCSYNC_BWLIMIT') : configured ? parseBandwidth(configured, '"bwlimit" in device.json') : null;
      const display = createProgressDisplay({ json: !!opts.json });
      const r = await syncThroughQueue(cmd, opts, { allowMassDelete: !!opts.allowMassDelete, dryRun: !!opts.dryRun, bwlimit }, (s, o) => runSyncInteractive(s, o, display));
      const summary = { pushed: r.pushed, pulled: r.pulled, conflicts: r.conflicts, bytesUploaded: r.bytesUploaded, bytesDownloaded: r.bytesDownloaded, durationMs: r.durationMs };
      if (opts.json) print(true, { ...summary, dryRun: r.dryRun, conflictPaths: r.conflictPaths, problems: r.problems, deferred: r.deferred, plan: r.plan, queued: r.queue.queued }, '');
      else {
        const lines = r.dryRun
          ? [
              'dry run: nothing was changed',
              ...r.plan.push.map((c) => `  push  ${c.action.padEnd(6)} ${c.path}`),
              ...r.plan.pull.map((c) => `  pull  ${c.action.padEnd(6)} ${c.path}`),
              ...r.plan.merge.map((m) => `  merge ${m.merged ? 'auto  ' : 'no    '} ${m.path} (${m.kind}${m.reason ? `: ${m.reason}` : ''})`),
            ]
          : [`pushed ${r.pushed}, pulled ${r.pulled}, conflicts ${r.conflicts} (${r.bytesUploaded} B up, ${r.bytesDownloaded} B down, ${r.durationMs} ms)`];
        for (const m of r.dryRun ? [] : r.plan.merge.filter((x) => x.merged)) lines.push(`merged: ${m.path} (${m.kind})`);
        for (const p of r.conflictPaths) lines.push(`conflict: ${p} (both versions are kept; see \`ccsync conflicts\`)`);
        for (const p of r.problems) lines.push(`not synced: ${p.path}: ${p.message}`);
        for (const p of r.deferred) lines.push(`changed during sync, will sync next time: ${p}`);
        print(false, null, lines.join('\n'));
      }
      if (r.conflicts > 0) setExit(EXIT.conflicts);
    });

  program
    .command('conflicts')
    .description('list items with concurrent edits that need a decision')
    .option('--json', 'print JSON')
    .option('--password-stdin', 'read the password from standard input instead of the keychain')
    .action(async (opts: { json?: boolean; passwordStdin?: boolean }, cmd: Command) => {
      const list = await withSession(cmd, opts, (s) => listConflicts(s));
      print(!!opts.json, list, list.length === 0 ? 'no conflicts' : list.map((c) => [
        `${c.path} (${c.kind}, ${c.devices.join(' vs ')})`,
        ...c.versions.map((v) => `  ${v.applied ? '*' : ' '} ${v.versionId}  ${v.deviceName.padEnd(12)} ${v.time}  ${v.size} B  ${v.summary}`),
        ...(c.keys ?? []).map((k) => `    key ${k.key}: ${k.values.map((x) => JSON.stringify(x)).join(' vs ')}`),
      ].join('\n')).join('\n'));
      if (list.length > 0) setExit(EXIT.conflicts);
    });

  program
    .command('resolve <path>')
    .description('end a conflict: keep local, remote, both, or merged content from a file')
    .addOption(new Option('--keep <side>', 'which content to keep').choices(['local', 'remote', 'both', 'merged']).makeOptionMandatory())
    .option('--from <file>', 'the merged content (with --keep merged)')
    .option('--json', 'print JSON')
    .option('--password-stdin', 'read the password from standard input instead of the keychain')
    .action(async (path: string, opts: { keep: Keep; from?: string; json?: boolean; passwordStdin?: boolean }, cmd: Command) => {
      const r = await withSession(cmd, opts, (s) => resolveConflict(s, path, opts.keep, opts.from ? resolve(opts.from) : undefined));
      print(!!opts.json, { path, ...r }, `resolved ${path} (new version ${r.versionId})${r.extra ? `; the other side is kept as ${r.extra}` : ''}`);
    });

  program
    .command('history <path>')
    .description('list every version of an item')
    .option('--json', 'print JSON')
    .option('--password-stdin', 'read the password from standard input instead of the keychain')
    .action(async (path: string, opts: { json?: boolean; passwordStdin?: boolean }, cmd: Command) => {
      const h = await withSession(cmd, opts, async (s) => historyOf(s, path));
      print(!!opts.json, h, h.length === 0 ? `no history for ${path}` : h.map((v) => `${v.current ? '*' : ' '}${v.head ? 'H' : ' '} ${v.versionId}  ${v.deviceName.padEnd(12)} ${v.time}  ${v.deleted ? 'deleted' : `${v.size} B`}${v.mergedFrom ? '  (merge)' : ''}`).join('\n'));
    });

  program
    .command('restore <path>')
    .description('bring back an older version as a new version (nothing is lost)')
    .requiredOption('--version <id>', 'the version id from `ccsync history`')
    .option('--json', 'print JSON')
    .option('--password-stdin', 'read the password from standard input instead of the keychain')
    .action(async (path: string, opts: { version: string; json?: boolean; passwordStdin?: boolean }, cmd: Command) => {
      const r = await withSession(cmd, opts, (s) => restoreVersion(s, path, opts.version));
      print(!!opts.json, { path, ...r }, `restored ${path} from ${opts.version} (new version ${r.versionId})`);
    });

  program
    .command('passwd')
    .description('change the vault password (instant; other devices keep working)')
    .option('--password-stdin', 'read the current password from the first line and the new one from the second line of standard input')
    .action(async (opts: { passwordStdin?: boolean }, cmd: Command) => {
      const [current, next] = opts.passwordStdin
        ? ((await readStdinLines(2)) as [string, string])
        : [await promptHidden('Current password: '), await promptHidden('New password: ')];
      if (!opts.passwordStdin && (await promptHidden('Repeat new password: ')) !== next) throw new CcsError('USAGE', 'the new passwords do not match');
      await withSession(cmd, {}, (s) => changePassword(s.remote, s.manifest, current, next, s.keys), current);
      print(false, null, 'password changed; other devices keep working, and new devices join with the new password');
    });

  program
    .command('recovery-kit')
    .description('create a printable recovery key that restores the vault without the password (replaces any earlier one)')
    .option('--json', 'print JSON')
    .option('--password-stdin', 'read the password from standard input instead of the keychain')
    .action(async (opts: { json?: boolean; passwordStdin?: boolean }, cmd: Command) => {
      const { key, vaultId, remote } = await withSession(cmd, opts, async (s) => ({ key: await createRecoverySlot(s.remote, s.keys), vaultId: s.config.vaultId, remote: s.config.remote }));
      const text = formatRecoveryKey(key);
      print(!!opts.json, { recoveryKey: text, vaultId, remote }, [
        'CCJK Cloud Sync — recovery kit',
        `vault:        ${vaultId}`,
        `remote:       ${remote}`,
        `recovery key: ${text}`,
        '',
        'Print this or store it offline. With it, any machine restores the vault:',
        `  echo <recovery key> | ccsync join --root ~/.claude --remote ${remote} --recovery-key-stdin`,
        'Creating a new kit makes this one stop working.',
      ].join('\n'));
    });

  program
    .command('remote')
    .description('work with storage locations')
    .command('test <url>')
    .description('check reachability, credentials, write/read/delete of a probe object and conditional-write support')
    .option('--json', 'print JSON')
    .action(async (url: string, opts: { json?: boolean }) => {
      const remote = openRemote(url);
      try {
        const r = await remoteSelfTest(remote);
        print(!!opts.json, r, [
          `${r.ok ? 'ok' : 'FAILED'}: ${remote.description}`,
          ...r.steps.map((st) => `  ${st.ok ? 'ok  ' : 'FAIL'} ${st.name.padEnd(20)} ${String(st.ms).padStart(5)} ms${st.detail ? `  ${st.detail}` : ''}`),
          `  conditional writes: ${r.conditionalWrites}`,
        ].join('\n'));
        if (!r.ok) setExit(EXIT.failure);
      } finally {
        releaseRemote(remote);
      }
    });

  program
    .command('status')
    .description('show what is synced, pending or in conflict (local only, needs no password)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const st = await readStatus(homeOf(cmd));
      const counts = new Map<string, number>();
      for (const i of st.items) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
      print(!!opts.json, st, [
        `device ${st.device.name} (${st.device.id})`,
        `root ${st.root}`,
        `remote ${st.remote}`,
        `last sync ${st.lastSync ?? 'never'}`,
        `items: ${[...counts].map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}`,
        ...st.items.filter((i) => i.state !== 'synced' && i.state !== 'ignored').map((i) => `  ${i.state.padEnd(12)} ${i.path}${i.message ? ` — ${i.message}` : ''}`),
      ].join('\n'));
    });

  program
    .command('verify')
    .description('check that every object the logs reference is on the remote (and decrypts, with --read-data)')
    .option('--read-data', 'download and decrypt every pack and check every chunk')
    .option('--device', 'prove that this device holds the private key the vault registered for it (signed challenge)')
    .option('--json', 'print JSON')
    .option('--password-stdin', 'read the password from standard input instead of the keychain')
    .action(async (opts: { readData?: boolean; device?: boolean; json?: boolean; passwordStdin?: boolean }, cmd: Command) => {
      if (opts.device) return verifyDevice(cmd, opts, setExit);
      const r = await withSession(cmd, opts, (s) => verifyRemote(s, !!opts.readData));
      print(!!opts.json, r, [
        `${r.ok ? 'ok' : 'FAILED'}: ${r.devices} devices, ${r.logEntries} log entries, ${r.packs} packs, ${r.chunks} chunks${opts.readData ? `, ${r.packsRead} packs decrypted and checked` : ''}`,
        ...r.errors.map((e) => `  ${e}`),
      ].join('\n'));
      if (!r.ok) setExit(EXIT.failure);
    });

  registerKeyCommands(program);
  registerPairCommand(program);
  registerQueueCommands(program, { homeOf, print });
  return program;
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (isCcsError(e)) {
    if (e.code === 'USAGE') return EXIT.usage;
    if (e.code === 'WRONG_PASSWORD' || e.code === 'LOCKED' || e.code === 'REVOKED') return EXIT.locked;
  }
  return EXIT.failure;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return exitCodeFor(e);
    if (isCcsError(e)) process.stderr.write(`ccsync: ${e.message} [${e.code}]\n`);
    else process.stderr.write(`ccsync: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
    return exitCodeFor(e);
  } finally {
    await closeCryptoOffload();
  }
}
