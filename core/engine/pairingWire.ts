/**
 * The wire side of device pairing (core/engine/pairing.ts): object names, size caps, labels,
 * envelope formats and schemas, the crypto steps, and polling the remote. pairing.ts holds the
 * protocol description and the two flows built from these pieces.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { CcsError, isCcsError } from '../common/errors';
import { decodeBase64Strict } from '../crypto/base64';
import { x25519Shared } from '../crypto/deviceKeys';
import { hmacSha256, timingSafeEqualBuf } from '../crypto/keys';
import type { Remote } from '../remotes/remote';
import type { SasCallback } from './pairing';
import { isOfferId, type PairingCode } from './pairingCode';

export const PAIRING_DEFAULT_TTL_MS = 10 * 60_000;
export const PAIRING_MAX_TTL_MS = 60 * 60_000;
/** Vault keys and a device registration are a few kilobytes; a megabyte is room to spare. */
export const PAIRING_MAX_PAYLOAD_BYTES = 1 << 20;
/** B accepts an offer this long after its expiry, for clocks that disagree. */
export const CLOCK_SKEW_MS = 2 * 60_000;
/** After granting, A waits this long past the expiry (at most one lifetime) for B's receipt. */
export const ACK_GRACE_MS = 60_000;
/** sweepExpiredOffers leaves an offer alone until this long after it expired. */
export const SWEEP_GRACE_MS = 10 * 60_000;
export const DEFAULT_POLL_MS = 1000;
export const MAX_NAME_LENGTH = 200;
export const MAX_DEVICE_JSON = 8 * 1024;

export const CAP = {
  offer: 4 * 1024,
  response: 16 * 1024,
  reveal: 512,
  grant: Math.ceil((PAIRING_MAX_PAYLOAD_BYTES + 16) / 3) * 4 + 512,
  done: 1024,
} as const;

export const LABEL = {
  code: 'ccsync/v1/pair/code',
  commit: 'ccsync/v1/pair/commit',
  offer: 'ccsync/v1/pair/offer',
  response: 'ccsync/v1/pair/response',
  transcript: 'ccsync/v1/pair/transcript',
  key: 'ccsync/v1/pair/key',
  sas: 'ccsync/v1/pair/sas',
  grant: 'ccsync/v1/pair/grant',
  done: 'ccsync/v1/pair/done',
} as const;

export const pairName = {
  prefix: 'pair/',
  group: (offerId: string) => `pair/${offerId.toLowerCase()}/`,
  offer: (offerId: string) => `${pairName.group(offerId)}offer`,
  response: (offerId: string) => `${pairName.group(offerId)}response`,
  reveal: (offerId: string) => `${pairName.group(offerId)}reveal`,
  grant: (offerId: string) => `${pairName.group(offerId)}grant`,
  done: (offerId: string) => `${pairName.group(offerId)}done`,
};
export const GROUP_OBJECT_RE = /^pair\/([0-9a-hjkmnp-tv-z]{8})\/[a-z0-9_.-]+$/;


// ---------------------------------------------------------------------------------------------
// Formats

export const VAULT_ID_RE = /^[0-9a-f]{32}$/; // as in vaultKeys.ts / deviceConfig.ts
export const DEVICE_ID_RE = /^[0-9a-f]{16}$/; // format.ts DeviceIdSchema

export const isWellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;
export const NameSchema = z
  .string()
  .min(1)
  .max(MAX_NAME_LENGTH)
  .refine((s) => !/\p{Cc}/u.test(s) && isWellFormed(s), 'contains control characters or broken text');
export const base64Of = (bytes: number) => z.string().refine((s) => decodeBase64Strict(s)?.length === bytes, `must be base64 of ${bytes} bytes`);
export const OfferIdSchema = z.string().refine(isOfferId, 'not an offer id');

export const EnvelopeSchema = z.strictObject({ v: z.literal(1), body: z.string().max(CAP.response), mac: base64Of(32) });

export const OfferBodySchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('offer'),
  vaultId: z.string().regex(VAULT_ID_RE),
  offerId: OfferIdSchema,
  fromDevice: z.string().regex(DEVICE_ID_RE),
  fromName: NameSchema,
  commitA: base64Of(32),
  createdAt: z.number().int().nonnegative(),
  expiresAt: z.number().int().nonnegative(),
});

export const ResponseBodySchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('response'),
  offerId: OfferIdSchema,
  pubB: base64Of(32),
  deviceName: NameSchema,
  device: z.record(z.string(), z.unknown()),
});

export const RevealSchema = z.strictObject({ v: z.literal(1), kind: z.literal('reveal'), offerId: OfferIdSchema, pubA: base64Of(32) });

export const GrantSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('grant'),
  offerId: OfferIdSchema,
  nonce: base64Of(12),
  ciphertext: z.string().max(CAP.grant),
});
export type Grant = z.infer<typeof GrantSchema>;

export const DONE_KINDS = ['done', 'cancelled', 'failed'] as const;
export type DoneKind = (typeof DONE_KINDS)[number];
export const DoneBodySchema = z.strictObject({ v: z.literal(1), kind: z.enum(DONE_KINDS), offerId: OfferIdSchema });

/** Only what sweeping needs, read loosely so a newer format is not mistaken for junk. */
export const SweepOfferSchema = z.looseObject({ body: z.string() });
export const SweepBodySchema = z.looseObject({ createdAt: z.number(), expiresAt: z.number() });

export function tampered(message: string): CcsError {
  return new CcsError('PAIRING_TAMPERED', message);
}

export function expiredOffer(): CcsError {
  return new CcsError('PAIRING_EXPIRED', 'no device completed the pairing before the code expired: nothing was sent');
}

export function assertName(name: unknown, what: string): void {
  if (!NameSchema.safeParse(name).success) {
    throw new CcsError('USAGE', `${what} must be 1 to ${MAX_NAME_LENGTH} characters without control characters`);
  }
}

export function checkPollMs(pollMs: number | undefined): number {
  const ms = pollMs ?? DEFAULT_POLL_MS;
  if (!Number.isFinite(ms) || ms < 1 || ms > 60_000) throw new CcsError('USAGE', 'pollMs must be between 1 and 60000');
  return ms;
}

export function untrusted<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw tampered(`${what} on the remote is malformed${where}: ${issue?.message ?? 'invalid'} (modified on the remote?)`);
  }
  return r.data;
}

/** A body passed its MAC, so a code holder wrote it; failing the schema means another version. */
export function parseBody<T>(schema: z.ZodType<T>, body: string, what: string): T {
  const r = schema.safeParse(parseJsonText(body, what));
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new CcsError('FORMAT_UNSUPPORTED', `${what} is authentic but not in a form this version understands${where}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

/** JSON.parse that refuses `__proto__` keys, which zod would turn into prototypes. */
export function parseJsonText(text: string | Uint8Array, what: string): unknown {
  const s = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  try {
    return JSON.parse(s, (key, value: unknown) => {
      if (key === '__proto__') throw new Error('__proto__ key');
      return value;
    });
  } catch {
    throw tampered(`${what} on the remote is not valid JSON (modified on the remote?)`);
  }
}

export const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
export const envelope = (body: string, mac: Buffer): Buffer => json({ v: 1, body, mac: mac.toString('base64') });
/** Callers have validated the text with base64Of. */
export const b64 = (s: string): Buffer => decodeBase64Strict(s) ?? Buffer.alloc(0);

export function openEnvelope(raw: unknown, key: Buffer, context: Buffer, what: string, onBadMac: string): string {
  const env = untrusted(EnvelopeSchema, raw, what);
  if (!isWellFormed(env.body)) throw tampered(`${what} on the remote contains broken text (modified on the remote?)`);
  const expected = hmacSha256(key, Buffer.concat([context, frame(env.body)]));
  if (!timingSafeEqualBuf(b64(env.mac), expected)) throw tampered(onBadMac);
  return env.body;
}

export function openDone(raw: unknown, kCode: Buffer, offerBody: string, responseBody: string, offerId: string): DoneKind {
  const body = openEnvelope(raw, kCode, frame(LABEL.done, offerBody, responseBody), 'the pairing receipt', 'the new device’s receipt was modified on the remote');
  const done = parseBody(DoneBodySchema, body, 'the pairing receipt');
  if (done.offerId !== offerId) throw tampered('the pairing receipt names another offer');
  return done.kind;
}

// ---------------------------------------------------------------------------------------------
// Crypto

/** Length-prefixed concatenation: no two part lists give the same bytes. */
export function frame(...parts: (string | Uint8Array)[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    out.push(len, bytes);
  }
  return Buffer.concat(out);
}

export const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();
export const hkdf = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer => Buffer.from(hkdfSync('sha256', ikm, salt, info, length));

export function codeKey(code: PairingCode): Buffer {
  return hkdf(Buffer.from(code.secret, 'ascii'), Buffer.from(code.offerId, 'ascii'), Buffer.from(LABEL.code, 'ascii'), 32);
}

export function transcript(offerBody: string, responseBody: string, pubA: Buffer): Buffer {
  return sha256(frame(LABEL.transcript, offerBody, responseBody, pubA));
}

export function sessionKeys(shared: Buffer, kCode: Buffer, t: Buffer): { key: Buffer; sas: string } {
  const key = hkdf(shared, kCode, frame(LABEL.key, t), 32);
  const sasBytes = hkdf(shared, kCode, frame(LABEL.sas, t), 8);
  const sas = (sasBytes.readBigUInt64BE(0) % 1_000_000n).toString().padStart(6, '0');
  sasBytes.fill(0);
  return { key, sas };
}

export function agree(privateKey: KeyObject, peerPublic: Buffer, who: string): Buffer {
  try {
    return x25519Shared(privateKey, peerPublic);
  } catch (e) {
    throw new CcsError('PAIRING_TAMPERED', `${who} sent an unusable X25519 key (low order or malformed): refused`, { cause: e });
  }
}

export function seal(key: Buffer, payload: Uint8Array, t: Buffer, offerId: string): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  cipher.setAAD(frame(LABEL.grant, t));
  const ciphertext = Buffer.concat([cipher.update(payload), cipher.final(), cipher.getAuthTag()]);
  return json({ v: 1, kind: 'grant', offerId, nonce: nonce.toString('base64'), ciphertext: ciphertext.toString('base64') });
}

/** Null when authentication fails. */
export function open(key: Buffer, grant: Grant, t: Buffer, offerId: string): Buffer | null {
  const sealed = decodeBase64Strict(grant.ciphertext);
  if (grant.offerId !== offerId || sealed === null || sealed.length < 16) return null;
  const tagAt = sealed.length - 16;
  const decipher = createDecipheriv('aes-256-gcm', key, b64(grant.nonce), { authTagLength: 16 });
  decipher.setAAD(frame(LABEL.grant, t));
  decipher.setAuthTag(sealed.subarray(tagAt));
  const plain = decipher.update(sealed.subarray(0, tagAt));
  try {
    decipher.final();
  } catch {
    plain.fill(0);
    return null;
  }
  return plain;
}

// ---------------------------------------------------------------------------------------------
// Remote I/O and waiting

export interface PollContext {
  now: () => number;
  pollMs: number;
  signal: AbortSignal | undefined;
}

/** Size-capped read; undefined when the object does not exist. */
export async function readBytes(remote: Remote, name: string, cap: number, what: string): Promise<Buffer | undefined> {
  const info = await remote.stat(name);
  if (info === null) return undefined;
  const tooBig = (size: number) => tampered(`${what} on the remote is ${size} bytes, more than a pairing message can be (${cap})`);
  if (info.size > cap) throw tooBig(info.size);
  let bytes: Buffer;
  try {
    bytes = await remote.get(name);
  } catch (e) {
    if (isCcsError(e, 'OBJECT_MISSING')) return undefined;
    throw e;
  }
  if (bytes.length > cap) throw tooBig(bytes.length);
  return bytes;
}

/**
 * For polled objects: a folder remote without hard links may show an object while it is still
 * being written, so text that is not JSON gets one more poll before it counts as tampering.
 */
export async function readJson(remote: Remote, name: string, cap: number, what: string, seenBroken: Set<string>): Promise<{ json: unknown } | undefined> {
  const bytes = await readBytes(remote, name, cap, what);
  if (bytes === undefined) return undefined;
  try {
    return { json: parseJsonText(bytes, what) };
  } catch (e) {
    if (seenBroken.has(name)) throw e;
    seenBroken.add(name);
    return undefined;
  }
}

export async function putOnce(remote: Remote, name: string, data: Buffer, what: string): Promise<void> {
  try {
    await remote.put(name, data, { createOnly: true });
  } catch (e) {
    if (isCcsError(e, 'ALREADY_EXISTS')) throw tampered(`a pairing ${what} that this device never wrote is already on the remote: refused`);
    throw e;
  }
}

export async function offerIsStale(remote: Remote, offerName: string, now: number, graceMs: number): Promise<boolean> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readBytes(remote, offerName, CAP.offer, 'the pairing offer');
  } catch (e) {
    if (isCcsError(e, 'PAIRING_TAMPERED')) return true; // oversized: junk
    throw e;
  }
  if (bytes === undefined) return true;
  try {
    const env = SweepOfferSchema.parse(parseJsonText(bytes, 'the pairing offer'));
    const body = SweepBodySchema.parse(parseJsonText(env.body, 'the pairing offer'));
    const until = Math.min(body.expiresAt, body.createdAt + PAIRING_MAX_TTL_MS);
    return !(until + graceMs >= now);
  } catch {
    return true; // unreadable: junk
  }
}

/** Best effort: a leftover object is litter for sweepExpiredOffers, never a risk. */
export async function removeGroup(remote: Remote, offerId: string): Promise<void> {
  const prefix = pairName.group(offerId);
  const names = new Set([pairName.offer, pairName.response, pairName.reveal, pairName.grant, pairName.done].map((n) => n(offerId)));
  try {
    for (const { name } of await remote.list(prefix)) {
      if (name.startsWith(prefix) && GROUP_OBJECT_RE.test(name)) names.add(name);
    }
  } catch {
    // the known names are still deleted
  }
  for (const name of names) await remote.delete(name).catch(() => undefined);
}

export function abortError(signal: AbortSignal): CcsError {
  const reason: unknown = signal.reason;
  if (isCcsError(reason, 'PAIRING_CANCELLED')) return reason;
  return new CcsError('PAIRING_CANCELLED', 'pairing cancelled', { cause: reason });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      if (signal) reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `step` every pollMs until it returns a value or the deadline passes (then undefined).
 * REMOTE_UNREACHABLE is ridden out until the deadline and then reported as itself, not as expiry.
 */
export async function poll<T>(ctx: PollContext, deadline: number, step: () => Promise<T | undefined>): Promise<T | undefined> {
  let unreachable: unknown;
  for (;;) {
    throwIfAborted(ctx.signal);
    try {
      const value = await step();
      if (value !== undefined) return value;
      unreachable = undefined;
    } catch (e) {
      if (!isCcsError(e, 'REMOTE_UNREACHABLE')) throw e;
      unreachable = e;
    }
    const left = deadline - ctx.now();
    if (left <= 0) {
      if (unreachable !== undefined) throw unreachable;
      return undefined;
    }
    await sleep(Math.min(ctx.pollMs, left), ctx.signal);
  }
}

export type Verdict<W> = { kind: 'answer'; accepted: boolean } | { kind: 'peer'; value: W } | { kind: 'expired' };

/**
 * Calls onSas while `watch` polls the remote; whichever decides first wins, and the callback's
 * signal is aborted when it did not.
 */
export async function confirmSas<Peer, W>(
  onSas: SasCallback<Peer> | undefined,
  sas: string,
  peer: Peer,
  ctx: PollContext,
  deadline: number,
  watch: () => Promise<W | undefined>,
): Promise<Verdict<W>> {
  if (onSas === undefined) return { kind: 'answer', accepted: true };
  const phase = new AbortController();
  const outer = ctx.signal;
  const onOuterAbort = () => phase.abort(outer?.reason);
  if (outer?.aborted) phase.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });

  const watcher: Promise<Verdict<W>> = poll({ ...ctx, signal: phase.signal }, deadline, watch).then((value) =>
    value === undefined ? { kind: 'expired' } : { kind: 'peer', value },
  );
  const answer: Promise<Verdict<W>> = (async () => ({ kind: 'answer', accepted: (await onSas(sas, peer, phase.signal)) !== false }))();
  try {
    return await Promise.race([answer, watcher]);
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
    phase.abort(new CcsError('PAIRING_CANCELLED', 'the pairing went on without this confirmation'));
    watcher.catch(() => undefined);
    answer.catch(() => undefined);
  }
}
