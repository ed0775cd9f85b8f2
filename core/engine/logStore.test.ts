import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCcsError } from '../common/errors';
import { deriveSubkeys, randomKey } from '../crypto/keys';
import { gearTable } from '../chunking/gear';
import { MemoryRemote } from '../remotes/memory/MemoryRemote';
import { assertProperty } from '../test-support/fc';
import { deflateRawSync } from 'node:zlib';
import { encryptObject } from '../crypto/stream';
import { names, type UnsignedLogEntry } from './format';
import { readLogEntry, writeLogEntry } from './logStore';
import { newStats } from './transferStats';
import type { VaultKeys } from './vaultKeys';
import { newIdentity } from './keyring/identity';

// The log-entry decoder reads data written by other devices: whatever bytes it gets, it returns a
// valid entry or throws OBJECT_CORRUPT / OBJECT_MISSING — never another exception, never garbage.

const device = '0123456789abcdef';
function keys(): VaultKeys {
  const masterKey = randomKey();
  const subkeys = deriveSubkeys(masterKey, 'v'.repeat(32));
  const identity = newIdentity(device);
  const epochs = new Map([[1, randomKey()]]);
  const ring = { epochs, current: 1, docs: [], digests: new Map(), devices: new Map([[device, { id: device, name: 'd', signPub: identity.signPub, kexPub: identity.kexPub }]]) };
  return { vaultId: 'v'.repeat(32), masterKey, subkeys, epochs, currentEpoch: 1, gear: gearTable(subkeys.gear), ring, identity };
}

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const versionArb = fc.record({
  id: fc.integer({ min: 1, max: 1e9 }).map((n) => `${device}-${n}`),
  path: fc.string({ minLength: 1, maxLength: 40 }),
  vv: fc.dictionary(hex(16), fc.nat(1000)),
  dot: fc.integer({ min: 1, max: 1000 }),
  hlc: fc.tuple(fc.nat(1e12), fc.nat(1e6)).map(([w, c]) => `${w}.${c}`),
  device: fc.constant(device),
  deleted: fc.boolean(),
  size: fc.nat(),
  mode: fc.constantFrom(0o644, 0o755),
  mtimeMs: fc.nat(),
  contentId: fc.oneof(fc.constant(''), hex(64)),
  chunks: fc.array(hex(64), { maxLength: 3 }),
});
const entryArb = (seq: number) =>
  fc.record({
    format: fc.constant(2 as const),
    device: fc.constant(device),
    deviceName: fc.string({ maxLength: 20 }),
    seq: fc.constant(seq),
    hlc: fc.constant('1.0'),
    createdAt: fc.constant(new Date(0).toISOString()),
    packs: fc.array(fc.record({ id: hex(32), size: fc.integer({ min: 1, max: 1e9 }), chunks: fc.array(fc.record({ id: hex(64), offset: fc.nat(), length: fc.nat(), rawLength: fc.nat(), codec: fc.nat(3) }), { maxLength: 3 }) }), { maxLength: 3 }),
    versions: fc.array(versionArb, { maxLength: 4 }),
  });

describe('log entry decoder', () => {
  it('round-trips any valid entry', async () => {
    const k = keys();
    await assertProperty(
      fc.asyncProperty(entryArb(1), async (entry) => {
        const remote = new MemoryRemote();
        await writeLogEntry(remote, k, entry as UnsignedLogEntry, newStats());
        expect(await readLogEntry(remote, k, device, 1, newStats())).toMatchObject(entry);
      }),
      100,
    );
  });

  it('rejects any JSON that is not a valid entry with OBJECT_CORRUPT (encrypted with the right key)', async () => {
    const k = keys();
    const mutate = fc.oneof(
      fc.anything(),
      entryArb(1).chain((e) => fc.constantFrom<object>({ ...e, seq: 2 }, { ...e, device: 'f'.repeat(16) }, { ...e, format: 1 }, { ...e, sig: 'A'.repeat(88) }, { ...e, versions: [{ ...e.versions[0], device: 'f'.repeat(16) }] }, { ...e, packs: 'x' })),
    );
    await assertProperty(
      fc.asyncProperty(mutate, async (value) => {
        const remote = new MemoryRemote();
        const name = names.log(device, 1);
        const json = JSON.stringify(value) ?? 'undefined';
        await remote.put(name, encryptObject(deflateRawSync(Buffer.from(json)), name, 1, k.epochs.get(1)!));
        try {
          const got = await readLogEntry(remote, k, device, 1, newStats());
          // Only a genuinely valid entry may pass (fc.anything() can, rarely, produce one).
          expect(got.device).toBe(device);
          expect(got.seq).toBe(1);
        } catch (e) {
          expect(isCcsError(e, 'OBJECT_CORRUPT') || isCcsError(e, 'UNTRUSTED'), String(e)).toBe(true);
        }
      }),
      300,
    );
  });

  it('rejects arbitrary bytes and byte-level damage with OBJECT_CORRUPT', async () => {
    const k = keys();
    const remote = new MemoryRemote();
    const entry: UnsignedLogEntry = { format: 2, device, deviceName: 'd', seq: 1, hlc: '1.0', createdAt: 'x', packs: [], versions: [] };
    await writeLogEntry(remote, k, entry, newStats());
    const good = await remote.get(names.log(device, 1));
    await assertProperty(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
        const b = Buffer.from(good);
        b[i] = b[i]! ^ x;
        return b;
      })), async (bytes) => {
        const r = new MemoryRemote();
        await r.put(names.log(device, 1), bytes);
        const err = await readLogEntry(r, k, device, 1, newStats()).then(() => null, (e: unknown) => e);
        expect(isCcsError(err) && ['OBJECT_CORRUPT', 'FORMAT_UNSUPPORTED', 'LOCKED'].includes(err.code), String(err)).toBe(true);
      }),
      300,
    );
  });

  it('refuses entries that are unsigned, forged, from an unknown device, or from a revoked device after its revocation', async () => {
    const k = keys();
    const remote = new MemoryRemote();
    const base: UnsignedLogEntry = { format: 2, device, deviceName: 'd', seq: 1, hlc: '1.0', createdAt: 'x', packs: [], versions: [] };
    const put = async (seq: number, value: unknown) => {
      const name = names.log(device, seq);
      await remote.put(name, encryptObject(deflateRawSync(Buffer.from(JSON.stringify(value))), name, 1, k.epochs.get(1)!));
    };
    const code = (seq: number) => readLogEntry(remote, k, device, seq, newStats()).then(() => 'ok', (e: unknown) => (isCcsError(e) ? e.code : String(e)));
    // Signed by another key that claims to be this device.
    const other = { ...k, identity: newIdentity(device) };
    await writeLogEntry(remote, other, { ...base, seq: 1 }, newStats());
    expect(await code(1)).toBe('UNTRUSTED');
    // A valid signature over different content (seq changed after signing).
    await writeLogEntry(remote, k, { ...base, seq: 2 }, newStats());
    const signed = (await readLogEntry(remote, k, device, 2, newStats())) as unknown as Record<string, unknown>;
    await put(3, { ...signed, seq: 3 });
    expect(await code(3)).toBe('UNTRUSTED');
    // Unknown device.
    const stranger = { ...k, ring: { ...k.ring, devices: new Map() } };
    expect(await readLogEntry(remote, stranger, device, 2, newStats()).then(() => 'ok', (e: unknown) => (isCcsError(e) ? e.code : e))).toBe('UNTRUSTED');
    // Revoked after seq 2: entry 2 stays valid, entry 4 is refused.
    await writeLogEntry(remote, k, { ...base, seq: 4 }, newStats());
    const trusted = k.ring.devices.get(device)!;
    k.ring.devices.set(device, { ...trusted, revoked: { id: device, name: 'd', signPub: trusted.signPub.toString('base64'), lastSeq: 2, at: 'now', by: device } });
    expect(await code(2)).toBe('ok');
    expect(await code(4)).toBe('UNTRUSTED');
  });
});
