// Measures the three Argon2id candidates at the default parameters (64 MiB, t=3, p=1) and checks
// whether each keeps the event loop free. Run: node bench/kdf-choice.mjs
import { performance } from 'node:perf_hooks';
const pw = Buffer.from('correct horse battery staple'); const salt = Buffer.alloc(16, 7);
const m = 65536, t = 3, p = 1;
async function time(name, fn) {
  let ticks = 0; const iv = setInterval(() => ticks++, 5);
  const t0 = performance.now(); let out;
  try { out = await fn(); } catch (e) { clearInterval(iv); console.log(`${name}: unavailable (${e.message})`); return; }
  const ms = performance.now() - t0; clearInterval(iv);
  console.log(`${name}: ${ms.toFixed(0)} ms, event-loop ticks during run: ${ticks} (expected ~${Math.floor(ms / 5)} if non-blocking), out=${Buffer.from(out).toString('hex').slice(0, 16)}`);
}
const { hashRaw } = await import('@node-rs/argon2');
await time('@node-rs/argon2 hashRaw', () => hashRaw(pw, { salt, memoryCost: m, timeCost: t, parallelism: p, outputLen: 32, algorithm: 2 }));
try {
  const argon2 = (await import('argon2')).default;
  await time('argon2 (node-argon2)', () => argon2.hash(pw, { salt, memoryCost: m, timeCost: t, parallelism: p, hashLength: 32, type: argon2.argon2id, raw: true }));
} catch (e) { console.log('argon2: unavailable', e.message); }
const { argon2id } = await import('hash-wasm');
await time('hash-wasm argon2id', () => argon2id({ password: pw, salt, memorySize: m, iterations: t, parallelism: p, hashLength: 32, outputType: 'binary' }));
