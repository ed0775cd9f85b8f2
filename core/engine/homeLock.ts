import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CcsError } from '../common/errors';

/**
 * One process at a time per device home: two syncs of one device would race on its log sequence
 * numbers. A lock left by a dead process (crash, kill -9) is taken over.
 */
export async function acquireHomeLock(home: string): Promise<() => Promise<void>> {
  const file = join(home, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await unlink(file).catch(() => {});
      };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new CcsError('NOT_INITIALIZED', `no device set up in ${home}; run \`ccsync init\` or \`ccsync join\``);
      if (code !== 'EEXIST') throw e;
      const pid = Number(await readFile(file, 'utf8').catch(() => ''));
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new CcsError('BUSY', `another ccsync process (pid ${pid}) is working on ${home}; wait for it to finish`);
      }
      await unlink(file).catch(() => {});
    }
  }
  throw new CcsError('BUSY', `could not take the lock ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
