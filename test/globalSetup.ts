import { execFileSync } from 'node:child_process';

/** CLI tests spawn the real `ccsync` binary: build it once before any test runs. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
}
