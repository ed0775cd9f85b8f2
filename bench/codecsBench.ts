/**
 * Compression codec benchmark (issue #4). Bundled and run by bench/codecs.mjs, in two steps:
 *   --write <dir>   writes the deterministic data sets: <dir>/text (a ~/.claude-like tree, ~64 MiB)
 *                   and <dir>/random (incompressible files, 64 MiB)
 *   --micro <dir>   cuts every file of both sets into chunks with the default CDC parameters and
 *                   prints one JSON line per codec and set: compressChunk and decompressChunk MB/s
 *                   (MB of raw data per second, median of RUNS) and the ratio raw / stored.
 *   --brotli-sweep <dir>  the same text chunks through raw brotli at qualities 1–7 (and deflate
 *                   level 1): the measurement behind brotli's quality in core/chunking/compress.ts.
 */
import { createCipheriv } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { availableCodecs, type Codec, compressChunk, decompressChunk } from '../core/chunking/compress';
import { chunkBuffer, DEFAULT_CDC } from '../core/chunking/fastcdc';
import { gearTable } from '../core/chunking/gear';
import { mulberry32 } from '../core/common/prng';

const MiB = 1024 * 1024;
const TEXT_BYTES = 64 * MiB;
const RANDOM_FILES = 16;
const RUNS = 3;

const prng = mulberry32;

const WORDS = (
  'the a to of and is in it that for you this be with on as are not we can if or by file test ' +
  'should will so use code from at when but have which change run function one all do new then ' +
  'error now check value type here let need also add it\'s make only would like update return ' +
  'first see what there was more config settings path session project claude model tool hook ' +
  'permission allow deny command agent skill memory build lint typecheck vitest import export ' +
  'module async await promise string number boolean undefined null object array interface class ' +
  'component state render props handler request response server client cache database query ' +
  'migration schema table index key token user password remote sync vault chunk pack log entry ' +
  'device conflict merge branch commit diff patch review refactor rename delete create read write ' +
  'directory folder stream buffer encoding json markdown yaml parse format output input option ' +
  'argument default environment variable script package dependency version release issue bug ' +
  'fix feature case edge failure success retry timeout network latency throughput memory cpu'
).split(' ');
const IDENTS = 'config session remote vault chunk pack entry device state cache result options items path root file data buffer handler request response user token query schema index value error'.split(' ');
const TYPES = ['string', 'number', 'boolean', 'Buffer', 'Promise<void>', 'Record<string, unknown>', 'Uint8Array', 'DeviceConfig', 'SyncReport', 'VaultKeys', 'ChunkRef[]'];
const TOOLS = ['Read', 'Edit', 'Bash', 'Grep', 'Glob', 'Write', 'TodoWrite'];

class TextGen {
  private readonly r: () => number;
  private clock = Date.UTC(2025, 8, 1, 9, 0, 0);
  constructor(seed: number) {
    this.r = prng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  /** Zipf-like: common words far more often than rare ones, as in real prose. */
  word(): string {
    return WORDS[Math.floor(WORDS.length * this.r() ** 2.2)]!;
  }
  hex(n: number): string {
    let s = '';
    while (s.length < n) s += Math.floor(this.r() * 0x1_0000_0000).toString(16).padStart(8, '0');
    return s.slice(0, n);
  }
  base62(n: number): string {
    const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    let s = '';
    for (let i = 0; i < n; i++) s += a[Math.floor(this.r() * 62)];
    return s;
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
  }
  timestamp(): string {
    this.clock += this.int(200, 40_000);
    return new Date(this.clock).toISOString();
  }
  sentence(min = 6, max = 18): string {
    const n = this.int(min, max);
    const ws: string[] = [];
    for (let i = 0; i < n; i++) ws.push(this.word());
    if (this.chance(0.3)) ws[this.int(0, n - 1)] = `\`${this.ident()}\``;
    const s = ws.join(' ');
    return s[0]!.toUpperCase() + s.slice(1) + (this.chance(0.1) ? '?' : '.');
  }
  paragraph(): string {
    const n = this.int(2, 6);
    const ss: string[] = [];
    for (let i = 0; i < n; i++) ss.push(this.sentence());
    return ss.join(' ');
  }
  ident(): string {
    const a = this.pick(IDENTS);
    return this.chance(0.5) ? a : a + this.pick(IDENTS).replace(/^./, (c) => c.toUpperCase());
  }
  codeLine(depth: number): string {
    const pad = '  '.repeat(depth);
    switch (this.int(0, 7)) {
      case 0:
        return `${pad}const ${this.ident()} = await ${this.ident()}.${this.ident()}(${this.ident()});`;
      case 1:
        return `${pad}if (!${this.ident()}) throw new CcsError('${this.pick(['USAGE', 'OBJECT_CORRUPT', 'LOCKED', 'NOT_INITIALIZED'])}', '${this.sentence(4, 9).toLowerCase()}');`;
      case 2:
        return `${pad}// ${this.sentence(5, 14)}`;
      case 3:
        return `${pad}return { ${this.ident()}, ${this.ident()}: ${this.ident()}.length };`;
      case 4:
        return `${pad}for (const ${this.ident()} of ${this.ident()}) ${this.ident()}.push(${this.ident()});`;
      case 5:
        return `${pad}expect(${this.ident()}.${this.ident()}).toBe(${this.int(0, 4096)});`;
      case 6:
        return `${pad}${this.ident()}.${this.ident()} = ${this.ident()} ?? '${this.word()}';`;
      default:
        return `${pad}export function ${this.ident()}(${this.ident()}: ${this.pick(TYPES)}): ${this.pick(TYPES)} {`;
    }
  }
  sourceFile(): string {
    const lines = [`import { ${this.ident()}, ${this.ident()} } from '../${this.ident()}/${this.ident()}';`, ''];
    const n = this.int(40, 400);
    let depth = 0;
    for (let i = 0; i < n; i++) {
      const l = this.codeLine(depth);
      lines.push(l);
      if (l.endsWith('{')) depth++;
      else if (depth > 0 && this.chance(0.15)) lines.push('  '.repeat(--depth) + '}');
    }
    while (depth > 0) lines.push('  '.repeat(--depth) + '}');
    return lines.join('\n') + '\n';
  }
  markdown(): string {
    const out: string[] = [];
    if (this.chance(0.4)) out.push('---', `name: ${this.ident()}`, `description: ${this.sentence(6, 14)}`, `tools: ${this.pick(TOOLS)}, ${this.pick(TOOLS)}`, '---', '');
    const sections = this.int(2, 7);
    for (let s = 0; s < sections; s++) {
      out.push(`## ${this.sentence(2, 5).replace(/[.?]$/, '')}`, '', this.paragraph(), '');
      for (let i = this.int(0, 6); i > 0; i--) out.push(`- ${this.sentence(4, 12)}`);
      if (this.chance(0.3)) {
        out.push('', '```ts');
        for (let i = this.int(3, 15); i > 0; i--) out.push(this.codeLine(0));
        out.push('```');
      }
      out.push('');
    }
    return out.join('\n');
  }
  usage(): Record<string, unknown> {
    return { input_tokens: this.int(1, 40), cache_creation_input_tokens: this.int(0, 9000), cache_read_input_tokens: this.int(10_000, 120_000), output_tokens: this.int(1, 2000), service_tier: 'standard' };
  }
}

/** A Claude Code session transcript (JSONL): prompts, answers, tool calls and their results. */
function transcript(g: TextGen, target: number, project: string): string {
  const sessionId = g.uuid();
  const cwd = `/home/dev/src/${project}`;
  const files: string[] = [];
  const lines: string[] = [];
  let size = 0;
  let parent: string | null = null;
  const push = (type: 'user' | 'assistant', message: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const uuid = g.uuid();
    const line = JSON.stringify({ parentUuid: parent, isSidechain: false, userType: 'external', cwd, sessionId, version: '2.0.14', gitBranch: 'main', type, message, ...extra, uuid, timestamp: g.timestamp() });
    parent = uuid;
    lines.push(line);
    size += line.length + 1;
  };
  const assistant = (content: unknown[]) =>
    push('assistant', { id: `msg_01${g.base62(22)}`, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content, stop_reason: null, stop_sequence: null, usage: g.usage() }, { requestId: `req_011C${g.base62(20)}` });
  while (size < target) {
    push('user', { role: 'user', content: g.paragraph() });
    for (let step = g.int(1, 6); step > 0 && size < target; step--) {
      if (g.chance(0.4)) assistant([{ type: 'text', text: g.markdown() }]);
      const id = `toolu_01${g.base62(22)}`;
      const tool = g.pick(TOOLS);
      const path = `${cwd}/src/${g.ident()}/${g.ident()}.ts`;
      assistant([{ type: 'tool_use', id, name: tool, input: tool === 'Bash' ? { command: `npx vitest run src/${g.ident()}`, description: g.sentence(3, 7) } : { file_path: path } }]);
      let result: string;
      if (tool === 'Read' || tool === 'Edit') {
        // Sessions read the same files again and again (long-range repeats for big-window codecs).
        const src = files.length > 0 && g.chance(0.3) ? g.pick(files) : g.sourceFile();
        if (!files.includes(src)) files.push(src);
        result = src.split('\n').map((l, i) => `${String(i + 1).padStart(6)}\u2192${l}`).join('\n');
      } else if (tool === 'Bash') {
        result = Array.from({ length: g.int(3, 40) }, () => (g.chance(0.8) ? ` \u2713 src/${g.ident()}.test.ts > ${g.sentence(3, 8)} ${g.int(1, 900)}ms` : ` FAIL ${g.sentence(4, 10)}`)).join('\n');
      } else {
        result = Array.from({ length: g.int(1, 30) }, () => `${cwd}/src/${g.ident()}/${g.ident()}.ts`).join('\n');
      }
      push('user', { role: 'user', content: [{ tool_use_id: id, type: 'tool_result', content: result }] }, { toolUseResult: { type: 'text', file: { filePath: path, numLines: result.split('\n').length } } });
    }
    assistant([{ type: 'text', text: g.paragraph() }]);
  }
  return lines.join('\n') + '\n';
}

/** The text set: a ~/.claude-like tree (transcripts opted in by .ccsyncignore, Markdown, JSON). */
async function writeText(dir: string): Promise<void> {
  const g = new TextGen(20250901);
  const files = new Map<string, string>();
  files.set('.ccsyncignore', '# this user syncs session transcripts too\n!/projects/\n');
  files.set('CLAUDE.md', g.markdown());
  files.set('settings.json', JSON.stringify({ model: 'sonnet', permissions: { allow: Array.from({ length: 40 }, () => `Bash(npm run ${g.ident()}:*)`), deny: ['Read(./.env)'] }, hooks: {} }, null, 2));
  for (let i = 0; i < 60; i++) files.set(`commands/${g.ident()}-${i}.md`, g.markdown());
  for (let i = 0; i < 40; i++) files.set(`agents/${g.ident()}-${i}.md`, g.markdown());
  for (let i = 0; i < 30; i++) files.set(`skills/${g.ident()}-${i}/SKILL.md`, g.markdown() + g.markdown());
  for (let i = 0; i < 200; i++) files.set(`plugins/marketplaces/${g.ident()}/${g.ident()}-${i}.json`, JSON.stringify({ name: g.ident(), version: `1.${g.int(0, 20)}.${g.int(0, 9)}`, description: g.sentence(), keywords: [g.word(), g.word(), g.word()], commands: Array.from({ length: g.int(0, 8) }, () => ({ name: g.ident(), path: `./commands/${g.ident()}.md` })) }, null, 2));
  const history = Array.from({ length: 3000 }, () => JSON.stringify({ display: g.sentence(3, 30), pastedContents: {}, timestamp: g.int(1.75e12, 1.76e12), project: `/home/dev/src/${g.ident()}` }));
  files.set('history.jsonl', history.join('\n') + '\n');
  let total = [...files.values()].reduce((n, s) => n + Buffer.byteLength(s), 0);
  for (let i = 0; total < TEXT_BYTES; i++) {
    const project = g.ident();
    // Log-uniform 64 KiB – 6 MiB, like real sessions; the last one fills up to TEXT_BYTES.
    const target = Math.min(TEXT_BYTES - total, Math.round(64 * 1024 * 96 ** (g.int(0, 1000) / 1000)));
    const body = transcript(g, Math.max(1, target), project).slice(0, Math.max(1, target));
    files.set(`projects/-home-dev-src-${project}/${g.uuid()}-${i}.jsonl`, body);
    total += Buffer.byteLength(body);
  }
  for (const [rel, body] of files) {
    const p = join(dir, 'text', rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, body);
  }
}

function randomBytesSeeded(seed: number, length: number): Buffer {
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** The random set: files that do not compress (photos, archives, encrypted blobs). */
async function writeRandom(dir: string): Promise<void> {
  await mkdir(join(dir, 'random', 'media'), { recursive: true });
  for (let i = 0; i < RANDOM_FILES; i++) await writeFile(join(dir, 'random', 'media', `blob-${i}.bin`), randomBytesSeeded(i + 1, (64 * MiB) / RANDOM_FILES));
}

async function readAll(dir: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (ent.isFile() && ent.name !== '.ccsyncignore') out.push(await readFile(join(ent.parentPath, ent.name)));
  }
  return out;
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
}

async function micro(dir: string, codecs: Codec[]): Promise<void> {
  const gear = gearTable(Buffer.alloc(32, 1));
  for (const set of ['text', 'random'] as const) {
    const chunks = (await readAll(join(dir, set))).flatMap((f) => chunkBuffer(f, DEFAULT_CDC, gear));
    const raw = chunks.reduce((n, c) => n + c.length, 0);
    for (const codec of codecs) {
      let packed: { codec: Codec; data: Buffer }[] = [];
      const cTimes: number[] = [];
      const dTimes: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const t0 = performance.now();
        packed = chunks.map((c) => compressChunk(c, codec));
        cTimes.push(performance.now() - t0);
        const t1 = performance.now();
        for (let i = 0; i < packed.length; i++) decompressChunk(packed[i]!.codec, packed[i]!.data, chunks[i]!.length);
        dTimes.push(performance.now() - t1);
      }
      const stored = packed.reduce((n, p) => n + p.data.length, 0);
      const compressedChunks = packed.filter((p) => p.codec !== 'none').length;
      console.log(JSON.stringify({ set, codec, rawBytes: raw, chunks: chunks.length, compressedChunks, storedBytes: stored, ratio: raw / stored, compressMBs: raw / 1e6 / (median(cTimes) / 1000), decompressMBs: raw / 1e6 / (median(dTimes) / 1000) }));
    }
  }
}

/**
 * Why brotli quality 5 (core/chunking/compress.ts): raw brotli on the same text chunks at each
 * quality, with deflate level 1 (the default codec) for reference.
 */
async function brotliSweep(dir: string): Promise<void> {
  const gear = gearTable(Buffer.alloc(32, 1));
  const chunks = (await readAll(join(dir, 'text'))).flatMap((f) => chunkBuffer(f, DEFAULT_CDC, gear));
  const raw = chunks.reduce((n, c) => n + c.length, 0);
  const bounded = (n: number) => ({ maxOutputLength: Math.max(1, n), chunkSize: Math.max(64, n + 1) });
  const variants: [string, (c: Buffer) => Buffer, (c: Buffer, n: number) => Buffer][] = [['deflate level 1', (c) => deflateRawSync(c, { level: 1 }), (c, n) => inflateRawSync(c, bounded(n))]];
  for (const q of [1, 2, 3, 4, 5, 6, 7]) {
    variants.push([`brotli quality ${q}`, (c) => brotliCompressSync(c, { params: { [constants.BROTLI_PARAM_QUALITY]: q, [constants.BROTLI_PARAM_SIZE_HINT]: c.length } }), (c, n) => brotliDecompressSync(c, bounded(n))]);
  }
  for (const [name, compress, decompress] of variants) {
    let packed: Buffer[] = [];
    const cTimes: number[] = [];
    const dTimes: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      packed = chunks.map(compress);
      cTimes.push(performance.now() - t0);
      const t1 = performance.now();
      for (let i = 0; i < packed.length; i++) decompress(packed[i]!, chunks[i]!.length);
      dTimes.push(performance.now() - t1);
    }
    const stored = packed.reduce((n, p) => n + p.length, 0);
    console.log(JSON.stringify({ variant: name, ratio: raw / stored, compressMBs: raw / 1e6 / (median(cTimes) / 1000), decompressMBs: raw / 1e6 / (median(dTimes) / 1000) }));
  }
}

const [mode, dir] = process.argv.slice(2);
if (mode === '--write' && dir) {
  await writeText(dir);
  await writeRandom(dir);
} else if (mode === '--micro' && dir) {
  await micro(dir, availableCodecs());
} else if (mode === '--brotli-sweep' && dir) {
  await brotliSweep(dir);
} else {
  console.error('usage: codecsBench --write <dir> | --micro <dir> | --brotli-sweep <dir>');
  process.exit(2);
}
