import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import { CcsError } from '../common/errors';
import { joinByPairing, pairNewDevice } from '../engine/pairDevice';
import { print, withSession } from './common';

/** Asks on the terminal; without one the one-time code alone binds the exchange, so the answer is yes. */
async function confirmSas(sas: string, peerName: string, assumeYes: boolean, json: boolean): Promise<boolean> {
  const pretty = `${sas.slice(0, 3)} ${sas.slice(3)}`;
  if (!json) process.stderr.write(`Security code: ${pretty}  — check that ${peerName} shows the same code.\n`);
  if (assumeYes || !process.stdin.isTTY) return true;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question('Do the codes match? [y/N] ')).trim());
  } finally {
    rl.close();
  }
}

export function joinByPairingCli(code: string, json: boolean) {
  return joinByPairing(code, {
    onSas: (sas, from) => {
      if (!json) process.stderr.write(`Security code: ${sas.slice(0, 3)} ${sas.slice(3)}  — it must match the one shown on ${from.deviceName}.\n`);
    },
  });
}

export function registerPairCommand(program: Command): void {
  program
    .command('pair')
    .description('let a new device join without the password: shows a one-time code to type there (`ccsync join --pair CODE`)')
    .addOption(new Option('--ttl <minutes>', 'how long the code stays valid').default('10'))
    .option('--yes', 'do not ask to compare the security code (the one-time code already binds the exchange)')
    .option('--json', 'print JSON lines: first {code, expiresAt}, then the result')
    .option('--password-stdin', 'read the password from standard input instead of the keychain')
    .action(async (opts: { ttl: string; yes?: boolean; json?: boolean; passwordStdin?: boolean }, cmd: Command) => {
      const minutes = Number(opts.ttl);
      if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 60) throw new CcsError('USAGE', '--ttl must be between 1 and 60 minutes');
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.once('SIGINT', onSigint);
      try {
        const r = await withSession(cmd, opts, (s) =>
          pairNewDevice(s, {
            ttlMs: Math.round(minutes * 60_000),
            signal: ac.signal,
            onCode: (code, expiresAt) =>
              print(!!opts.json, { code, expiresAt: new Date(expiresAt).toISOString() }, `On the new device run:\n  ccsync join --root ~/.claude --remote ${s.config.remote} --pair ${code}\nThe code is valid until ${new Date(expiresAt).toLocaleTimeString()}. Waiting…`),
            onSas: (sas, peer) => confirmSas(sas, peer.deviceName, !!opts.yes, !!opts.json),
          }),
        );
        print(!!opts.json, { paired: r }, `Paired ${r.name} (${r.id}, key ${r.fingerprint}). It can sync now.`);
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
