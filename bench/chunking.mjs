// Measures the chunking layer (core/chunking) and the deflate implementation choice (node:zlib vs
// fflate at level 1). Bundles the TS sources with esbuild first. Run: node bench/chunking.mjs
import { randomBytes, createCipheriv } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';
import { deflateSync as fflateDeflate } from 'fflate';

const MiB = 1024 * 1024;
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'ccs-bench-chunking-'));
try {
  const outfile = join(dir, 'chunking.mjs');
  await build({ entryPoints: [join(root, 'core/chunking/index.ts')], bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'warning' });
  await run(await import(pathToFileURL(outfile).href), dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** Median of several runs: the first ones include JIT warm-up and fresh-page faults. */
function measure(label, bytes, fn, runs = 5) {
  const times = [];
  let result;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    result = fn();
    times.push(performance.now() - t0);
  }
  const ms = times.sort((a, b) => a - b)[runs >> 1];
  const mbs = bytes / 1e6 / (ms / 1000);
  console.log(`${label.padEnd(48)} ${mbs.toFixed(0).padStart(6)} MB/s`);
  return { mbs, result };
}

function text(length) {
  const words = ['session', 'project', 'the', 'claude', 'settings', 'permissions', 'allow', 'tool', 'model', 'hook', 'and', 'file'];
  const noise = randomBytes(length);
  let s = '';
  for (let i = 0; s.length < length; i++) {
    const w = (k) => words[noise[(i * 7 + k) % length] % words.length];
    s += i % 3 === 0
      ? `## ${w(0)} ${w(1)} ${i}\n\nThe ${w(2)} ${w(3)} uses \`${w(4)}\` when ${w(5)}.\n`
      : `{"id":"${noise.readUInt32LE((i * 4) % (length - 4)).toString(16)}","${w(6)}":"${w(7)} ${w(8)}","n":${i}}\n`;
  }
  return Buffer.from(s).subarray(0, length);
}

function slices(buf, size) {
  const out = [];
  for (let o = 0; o < buf.length; o += size) out.push(buf.subarray(o, o + size));
  return out;
}

async function run(cc, dir) {
  const gear = cc.gearTable(randomBytes(32));
  const params = cc.DEFAULT_CDC;
  console.log(`node ${process.version}, CDC ${params.minSize / 1024}/${params.avgSize / 1024}/${params.maxSize / 1024} KiB\n`);

  const big = randomBytes(256 * MiB);
  const { result: chunks } = measure('CDC chunkBuffer, 256 MiB random', big.length, () => cc.chunkBuffer(big, params, gear));
  console.log(`  ${chunks.length} chunks, mean ${(big.length / chunks.length / 1024).toFixed(0)} KiB`);
  const pieces = slices(big, MiB);
  const streamed = measure('CDC Chunker.push 1 MiB pieces, 256 MiB random', big.length, () => {
    const c = new cc.Chunker(params, gear);
    let n = 0;
    for (const p of pieces) n += c.push(p).length;
    return n + c.finish().length;
  });
  const copy = measure('  copying chunk-sized pieces alone', big.length, () => {
    let s = 0;
    for (const ch of chunks) s += Buffer.from(ch).length;
    return s;
  });
  console.log(`  copy share of Chunker.push time: ~${((streamed.mbs / copy.mbs) * 100).toFixed(0)}%`);

  const randChunks = slices(randomBytes(64 * MiB), params.avgSize);
  const textChunks = slices(text(64 * MiB), params.avgSize);
  for (const [name, set] of [['random', randChunks], ['text', textChunks]]) {
    const { result: packed } = measure(`compressChunk deflate, 64 MiB ${name} (256 KiB)`, 64 * MiB, () => set.map((c) => cc.compressChunk(c, 'deflate')));
    const out = packed.reduce((s, p) => s + p.data.length, 0);
    console.log(`  stored ${((out / (64 * MiB)) * 100).toFixed(1)}% of input, codecs: ${[...new Set(packed.map((p) => p.codec))].join(',')}`);
    if (name === 'text') measure(`decompressChunk, 64 MiB ${name}`, 64 * MiB, () => packed.forEach((p, i) => cc.decompressChunk(p.codec, p.data, set[i].length)));
  }

  console.log('\nnode:zlib deflateRawSync vs fflate deflateSync, level 1, 1 MiB x 20');
  const samples = { random: randomBytes(MiB), text: text(MiB) };
  for (const [name, data] of Object.entries(samples)) {
    const z = measure(`  zlib   ${name}`, 20 * MiB, () => { let r; for (let i = 0; i < 20; i++) r = deflateRawSync(data, { level: 1 }); return r; });
    const f = measure(`  fflate ${name}`, 20 * MiB, () => { let r; for (let i = 0; i < 20; i++) r = fflateDeflate(data, { level: 1 }); return r; });
    console.log(`  ${name}: zlib ${(z.mbs / f.mbs).toFixed(1)}x fflate; sizes zlib ${z.result.length}, fflate ${f.result.length}`);
  }

  // The CDC + compression share of the sync pipeline (no hashing, encryption or upload).
  const path = join(dir, 'one-gib.bin');
  const ctr = createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16));
  await writeFile(path, (async function* () { for (let i = 0; i < 1024; i++) yield ctr.update(Buffer.alloc(MiB)); })());
  const t0 = performance.now();
  let n = 0;
  for await (const c of cc.chunkFile(path, params, gear)) n += cc.compressChunk(c, 'deflate').data.length;
  const ms = performance.now() - t0;
  console.log(`\nchunkFile + compressChunk, 1 GiB random file: ${(1024 * MiB / 1e6 / (ms / 1000)).toFixed(0)} MB/s (${n} bytes out)`);
}
