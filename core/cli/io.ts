import { createInterface } from 'node:readline';
import { CcsError } from '../common/errors';

/** Reads the first `count` lines of stdin (for --password-stdin; `passwd` later reads two). */
export async function readStdinLines(count: number): Promise<string[]> {
  const lines: string[] = [];
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  for await (const line of rl) {
    lines.push(line);
    if (lines.length === count) break;
  }
  rl.close();
  if (lines.length < count) throw new CcsError('USAGE', `expected ${count} line(s) on standard input, got ${lines.length}`);
  return lines;
}

/** Prompts on the terminal without echo. */
export async function promptHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY) throw new CcsError('USAGE', 'no password given: use --password-stdin or CCSYNC_PASSWORD');
  process.stderr.write(question);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new CcsError('USAGE', 'cancelled'));
          return;
        }
        if (ch === '\u007f') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = () => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}
