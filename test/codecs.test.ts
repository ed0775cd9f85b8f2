import { createCipheriv } from 'node:crypto';
import { access, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODEC_IDS } from '../core/chunking/compress';
import { CcsError } from '../core/common/errors';
import { packWriterFor } from '../core/engine/packWriter';
import { newStats } from '../core/engine/transferStats';
import { readTree, runCli, tempDir, treesEqual } from '../core/test-support/vaultHarness';

// Per-vault compression through the real CLI and a real folder remote. Every run gives the password
// (CCSYNC_PASSWORD) and points D-Bus nowhere, so the test needs no OS keychain and never touches one.
const PASSWORD = 'codec-pw-Ω';
const env = { CCSYNC_PASSWORD: PASSWORD, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' };
const HAS_ZSTD = typeof (zlib as unknown as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';

interface Device {
  home: string;
  root: string;
}

const cli = (d: Device, args: string[]) => runCli(['--home', d.home, ...args], { env });

function random(seed: number, length: number): Buffer {
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** A small ~/.claude: Markdown, JSON, a multi-chunk JSONL history, and an incompressible file. */
async function fillTree(root: string): Promise<void> {
  await mkdir(join(root, 'agents'), { recursive: true });
  await mkdir(join(root, 'assets'), { recursive: true });
  await writeFile(join(root, 'CLAUDE.md'), '# Memory\n\n' + Array.from({ length: 200 }, (_, i) => `- rule ${i}: prefer small, reviewed changes to module ${i % 17}\n`).join(''));
  await writeFile(join(root, 'settings.json'), JSON.stringify({ model: 'sonnet', permissions: { allow: Array.from({ length: 50 }, (_, i) => `Bash(npm run task${i}:*)`) } }, null, 2));
  for (let i = 0; i < 5; i++) await writeFile(join(root, 'agents', `agent${i}.md`), `---\nname: agent${i}\n---\n\nReview the diff for ${i} kinds of mistakes.\n`.repeat(20));
  const history = Array.from({ length: 12_000 }, (_, i) => JSON.stringify({ display: `fix the ${['flaky', 'slow', 'broken'][i % 3]} test in module ${i % 97}`, pastedContents: {}, timestamp: 1_750_000_000_000 + i * 7919, project: `/home/dev/src/p${i % 13}` }));
  await writeFile(join(root, 'history.jsonl'), history.join('\n') + '\n');
  await writeFile(join(root, 'assets', 'photo.bin'), random(3, 300_000));
  await writeFile(join(root, 'empty.txt'), '');
}

/** The codec ids this device recorded for the chunks it knows (from its local state database). */
function codecIdsSeen(home: string): Set<number> {
  const db = new Database(join(home, 'state.db'), { readonly: true });
  try {
    return new Set((db.prepare('SELECT DISTINCT codec FROM chunks').all() as { codec: number }[]).map((r) => r.codec));
  } finally {
    db.close();
  }
}

describe('ccsync CLI: per-vault compression', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(() => dir.cleanup());

  async function device(name: string): Promise<Device> {
    const d = { home: join(dir.path, `home-${name}`), root: join(dir.path, `root-${name}`) };
    await mkdir(d.root);
    return d;
  }

  it('a brotli vault: chunks are stored with brotli, a second device reads them, verify --read-data passes', async () => {
    const remote = join(dir.path, 'remote-brotli');
    const A = await device('a');
    const B = await device('b');
    const init = await cli(A, ['init', '--root', A.root, '--remote', remote, '--device-name', 'a', '--compression', 'brotli', '--json']);
    expect(init.code, init.stderr).toBe(0);
    await fillTree(A.root);
    const pushed = await cli(A, ['sync', '--json']);
    expect(pushed.code, pushed.stderr).toBe(0);
    const report = JSON.parse(pushed.stdout) as { bytesUploaded: number };
    // The text compresses a lot; the 300 kB of random bytes cannot.
    const raw = [...(await readTree(A.root)).values()].reduce((n, b) => n + b.length, 0);
    expect(report.bytesUploaded).toBeLessThan(300_000 + (raw - 300_000) / 3);
    const seen = codecIdsSeen(A.home);
    expect(seen).toContain(CODEC_IDS.brotli);
    expect(seen).toContain(CODEC_IDS.none); // the random file, stored as is
    expect(seen).not.toContain(CODEC_IDS.deflate);

    const joined = await cli(B, ['join', '--root', B.root, '--remote', remote, '--device-name', 'b', '--json']);
    expect(joined.code, joined.stderr).toBe(0);
    const pulled = await cli(B, ['sync', '--json']);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(treesEqual(await readTree(A.root), await readTree(B.root))).toBe(true);

    // B writes with the vault's codec too, and A reads it back.
    await writeFile(join(B.root, 'agents', 'from-b.md'), '# From B\n\n' + 'Check every chunk, twice.\n'.repeat(3000));
    expect((await cli(B, ['sync'])).code).toBe(0);
    expect((await cli(A, ['sync'])).code).toBe(0);
    const ta = await readTree(A.root);
    expect(ta.has('agents/from-b.md')).toBe(true);
    expect(treesEqual(ta, await readTree(B.root))).toBe(true);

    for (const d of [A, B]) {
      const v = await cli(d, ['verify', '--read-data', '--json']);
      expect(v.code, v.stderr + v.stdout).toBe(0);
      const r = JSON.parse(v.stdout) as { ok: boolean; errors: string[]; packsRead: number };
      expect(r.errors).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.packsRead).toBeGreaterThan(0);
    }
  });

  it(`init --compression zstd ${HAS_ZSTD ? 'works where the runtime has zstd' : 'fails with CODEC_UNAVAILABLE and writes nothing on this runtime'}`, async () => {
    const remote = join(dir.path, 'remote-zstd');
    const A = await device('zstd');
    const init = await cli(A, ['init', '--root', A.root, '--remote', remote, '--compression', 'zstd', '--json']);
    if (HAS_ZSTD) {
      expect(init.code, init.stderr).toBe(0);
      await fillTree(A.root);
      expect((await cli(A, ['sync'])).code).toBe(0);
      expect(codecIdsSeen(A.home)).toContain(CODEC_IDS.zstd);
      expect((await cli(A, ['verify', '--read-data'])).code).toBe(0);
    } else {
      expect(init.code).toBe(1);
      expect(init.stdout).toBe('');
      expect(init.stderr).toMatch(/\[CODEC_UNAVAILABLE\]/);
      expect(init.stderr).toMatch(/zstd, which this runtime \(Node v[\d.]+\) cannot decode or encode; use Node ≥ 22\.15 or the desktop app \(Electron ≥ 39\)/);
      // Nothing on the remote (not even its folder), no device home, root untouched.
      expect(await readdir(remote).catch(() => [])).toEqual([]);
      expect(await access(join(remote, 'config')).then(() => true, () => false)).toBe(false);
      expect(await access(A.home).then(() => true, () => false)).toBe(false);
      expect(await readdir(A.root)).toEqual([]);
    }
  });

  it('init rejects an unknown codec as a usage error', async () => {
    const A = await device('bad');
    const r = await cli(A, ['init', '--root', A.root, '--remote', join(dir.path, 'remote-bad'), '--compression', 'lz4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are none, deflate, brotli, zstd/);
  });
});

describe('a device opening a zstd vault', () => {
  it(HAS_ZSTD ? 'gets a pack writer (this runtime has zstd)' : 'fails with CODEC_UNAVAILABLE before touching the remote or the state database', () => {
    const touched: string[] = [];
    const remote = new Proxy({}, { get: (_, k) => (touched.push(`remote.${String(k)}`), () => Promise.resolve()) });
    const db = { hasChunk: () => false, tx: <T>(fn: () => T): T => fn(), addPack: () => void touched.push('db.addPack') };
    type Session = Parameters<typeof packWriterFor>[0];
    const s = { remote: remote as Session['remote'], keys: {} as Session['keys'], manifest: { compression: 'zstd' as const, packSize: 8 * 1024 * 1024 }, db };
    if (HAS_ZSTD) {
      expect(packWriterFor(s, newStats()).hasWork()).toBe(false);
    } else {
      let err: unknown;
      try {
        packWriterFor(s, newStats());
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CcsError);
      expect((err as CcsError).code).toBe('CODEC_UNAVAILABLE');
      expect((err as CcsError).message).toMatch(/^this vault compresses with zstd, which this runtime \(Node v[\d.]+\) cannot decode or encode; use Node ≥ 22\.15/);
    }
    expect(touched).toEqual([]);
  });
});
