/**
 * Device pairing (issue #6, item 3; wire formats, crypto steps and polling in pairingWire.ts; wired to the CLI in pairDevice.ts and core/cli/pairCommands.ts): a trusted device A, which holds the vault keys, lets a new
 * device B join without the vault password. The two devices talk only THROUGH THE REMOTE, which
 * is hostile: it may read, drop, replay, reorder or rewrite any object. What authenticates the
 * exchange is a one-time code that A shows and the user types on B, plus an optional short
 * authentication string (SAS) that both screens show and the user may compare.
 *
 * Primitives: Node's crypto only. X25519 (with the all-zero / low-order check of deviceKeys.ts),
 * HKDF-SHA256, HMAC-SHA256, SHA-256, AES-256-GCM. `frame(a, b, …)` below is the concatenation of
 * each part as a 4-byte big-endian length followed by its bytes (strings as UTF-8), so no two
 * different part lists give the same input.
 *
 * The code (pairingCode.ts): `PAIR-` + 30 Crockford base32 characters = offer id (8 chars, 40
 * random bits; names the objects) + secret (20 chars, 100 random bits) + 2 check characters (typo
 * detection only). With the code canonical (upper case) and S = its 20 secret characters as ASCII:
 *     K_code = HKDF(ikm = S, salt = offerId, info = "ccsync/v1/pair/code", 32 bytes)
 *
 * Objects, all under `pair/<offerId in lower case>/`. offer, response and done are "envelopes",
 * `{"v":1,"body":"<JSON text>","mac":"<base64>"}`: the MAC covers the exact body text, and the
 * body is parsed only after the MAC verified (no canonicalisation; a body must be well-formed
 * UTF-16 so its UTF-8 bytes name exactly one text).
 *
 *  1. A: ephemeral X25519 key pair (a, pubA); commitA = SHA-256(frame("ccsync/v1/pair/commit", pubA)).
 *     Writes `offer` (createOnly), body {v:1, kind:"offer", vaultId, offerId, fromDevice, fromName,
 *     commitA, createdAt, expiresAt} (times in ms since the epoch, A's clock),
 *     mac = HMAC(K_code, frame("ccsync/v1/pair/offer", offerBody)).
 *  2. B (user typed the code): reads `offer`, verifies the MAC (else PAIRING_TAMPERED: modified
 *     offer or wrong code), the offer id, the expiry (PAIRING_EXPIRED; B allows 2 minutes of clock
 *     skew) and the vault id when it knows one. Ephemeral (b, pubB). Writes `response`
 *     (createOnly; a second device with the same code gets PAIRING_EXPIRED "already used"), body
 *     {v:1, kind:"response", offerId, pubB, deviceName, device}, where `device` is an opaque JSON
 *     object from the caller (B's long-term public identity),
 *     mac = HMAC(K_code, frame("ccsync/v1/pair/response", offerBody, responseBody)).
 *  3. A: polls `response` until the expiry (else PAIRING_EXPIRED), verifies its MAC (else
 *     PAIRING_TAMPERED; A writes nothing more) and only then writes `reveal` (createOnly),
 *     {v:1, kind:"reveal", offerId, pubA}. B checks it against commitA (else PAIRING_TAMPERED).
 *  4. Both: shared = X25519(own private, peer public), refused if all-zero (low-order key);
 *        T   = SHA-256(frame("ccsync/v1/pair/transcript", offerBody, responseBody, pubA))
 *        K   = HKDF(shared, salt = K_code, info = frame("ccsync/v1/pair/key", T), 32)
 *        SAS = HKDF(shared, salt = K_code, info = frame("ccsync/v1/pair/sas", T), 8) read as a
 *              big-endian integer mod 10^6, six decimal digits.
 *     Each side calls its `onSas(sas, peer, signal)`. An answer of `false` cancels
 *     (PAIRING_CANCELLED); anything else, or no callback, goes on. While a callback is pending the
 *     side keeps watching the remote (and the clock), and aborts `signal` when the pairing ends
 *     without it: so a prompt can be closed.
 *  5. A: calls `payload(peer)` and writes `grant` (createOnly), {v:1, kind:"grant", offerId, nonce,
 *     ciphertext}: AES-256-GCM under K, random 96-bit nonce, AAD = frame("ccsync/v1/pair/grant", T).
 *  6. B: polls `grant`, decrypts (failure → PAIRING_TAMPERED) and writes `done` (createOnly), body
 *     {v:1, kind:"done"|"cancelled"|"failed", offerId},
 *     mac = HMAC(K_code, frame("ccsync/v1/pair/done", offerBody, responseBody, doneBody)).
 *     "cancelled" = B's user refused or B was aborted; "failed" = B found the reveal or the grant
 *     modified. A watches for it from step 3 on, so a refusal on B stops A's prompt.
 *  7. A waits for `done` until the expiry plus a minute (at most one more lifetime); without it,
 *     complete() still resolves (the grant was sealed to an authenticated peer) but with
 *     `acknowledged: false`. A "cancelled" or "failed" receipt rejects complete() instead.
 *     A: on `done` (or failure, cancellation or expiry) deletes every `pair/<offerId>/` object,
 *     the offer first; B, while it waits, treats a vanished offer as PAIRING_CANCELLED (the other
 *     device refused, failed or gave up: its screen says why). `sweepExpiredOffers` removes what
 *     crashed devices left behind.
 *
 * Why this is safe against the remote:
 *  - Everything A relies on (pubB, B's name and identity) and everything B relies on (the vault
 *    id, A's name, commitA) is MACed with K_code, which only the two screens know. Forging or
 *    altering a message means finding K_code; brute-forcing the secret offline from a stored
 *    offer means trying up to 2^100 secrets (2^99 on average), an HKDF and an HMAC each:
 *    infeasible. (That is why the secret is 100 bits and not a short PIN: with no PAKE, a
 *    6-digit code would fall to an offline search in a moment.)
 *  - A MAC binds one offer: K_code differs per code (fresh secret, offer id as salt) and the
 *    response MAC covers the offer body, so a response, reveal, grant or done replayed from
 *    another pairing is refused. createOnly on every name keeps each step to one writer; a
 *    pre-planted object is refused at its MAC or commitment, like any modification.
 *  - Only B can read the grant: K needs X25519 of a private key that never leaves A or B. The
 *    grant's AAD and K bind the transcript, so a grant cut from another session does not open.
 *  - The SAS matters when the code itself leaked (seen on screen, screenshot synced to the
 *    remote): then the remote can run two sessions, one with A and one with B, and would hold K.
 *    The commitment stops it from searching for keys that make both SAS equal: it must give A
 *    its pubB before A reveals pubA, and give B the commitment to its own pubA before B chooses
 *    pubB, so each side's SAS is fixed before the attacker can compute it: a match happens with
 *    probability 10^-6 per try, and every try costs the user a typed code. The SAS also covers
 *    T, so a substituted name or identity changes it too.
 *  - Everything read from the remote is size-capped (stat, then the bytes) and schema-checked
 *    with zod; a malformed, oversized or unauthentic object is PAIRING_TAMPERED. A body that
 *    passed its MAC but does not fit the schema came from a code holder running another version:
 *    FORMAT_UNSUPPORTED (also for an offer envelope with v > 1). JSON with `__proto__` keys is
 *    refused. A partly visible object (a folder remote without hard links) is given one more
 *    poll before it counts as malformed. REMOTE_UNREACHABLE while polling is ridden out until
 *    the deadline, then reported as itself. No offer under the code's id is PAIRING_EXPIRED.
 *
 * What it does not do: hide that a pairing happens, its timing or the device names (they are
 *    authenticated, not encrypted, like the rest of the vault's device metadata); prevent the
 *    remote from stopping a pairing (it can always delete objects); zero the X25519 private keys
 *    (Node's KeyObjects cannot be wiped: they are dropped after use; derived keys and shared
 *    secrets in Buffers are zeroed). The caller owns `payload` bytes on both sides.
 */
import type { KeyObject } from 'node:crypto';
import { CcsError, isCcsError } from '../common/errors';
import { x25519Generate } from '../crypto/deviceKeys';
import { hmacSha256, timingSafeEqualBuf } from '../crypto/keys';
import type { Remote } from '../remotes/remote';
import { formatPairingCode, newPairingCode, parsePairingCode, type PairingCode } from './pairingCode';
import { ACK_GRACE_MS, CAP, CLOCK_SKEW_MS, DEVICE_ID_RE, type DoneKind, GROUP_OBJECT_RE, GrantSchema, LABEL, MAX_DEVICE_JSON, OfferBodySchema, PAIRING_DEFAULT_TTL_MS, PAIRING_MAX_PAYLOAD_BYTES, PAIRING_MAX_TTL_MS, type PollContext, ResponseBodySchema, RevealSchema, SWEEP_GRACE_MS, VAULT_ID_RE, agree, assertName, b64, checkPollMs, codeKey, confirmSas, envelope, expiredOffer, frame, json, offerIsStale, open, openDone, openEnvelope, pairName, parseBody, parseJsonText, poll, putOnce, readBytes, readJson, removeGroup, seal, sessionKeys, sha256, tampered, throwIfAborted, transcript, untrusted } from './pairingWire';

export { PAIRING_DEFAULT_TTL_MS, PAIRING_MAX_PAYLOAD_BYTES, PAIRING_MAX_TTL_MS } from './pairingWire';

// ---------------------------------------------------------------------------------------------
// Public API

/** The new device, as the trusted device sees it. */
export interface PairingRequester {
  deviceName: string;
  /** The caller-supplied public identity of the new device (authenticated, otherwise opaque). */
  device: Record<string, unknown>;
}

/** The trusted device, as the new device sees it. */
export interface PairingGranter {
  deviceId: string;
  deviceName: string;
  vaultId: string;
}

/**
 * Shows the SAS. Returning (or resolving to) `false` refuses the pairing; anything else accepts.
 * `signal` aborts when the pairing ends while the callback is pending (the peer refused, expiry,
 * cancellation), so a prompt can be closed.
 */
export type SasCallback<Peer> = (sas: string, peer: Peer, signal: AbortSignal) => boolean | void | Promise<boolean | void>;

export interface StartPairingOptions {
  vaultId: string;
  deviceId: string;
  deviceName: string;
  /** Lifetime of the offer; default 10 minutes, at most an hour. */
  ttlMs?: number;
  /** Clock (ms since the epoch); default Date.now. */
  now?: () => number;
  /** Interval between remote polls; default 1 s. */
  pollMs?: number;
}

export interface CompletePairingOptions {
  /** The secret bytes to hand over (e.g. the vault keys), asked for only after the SAS step. */
  payload: (peer: PairingRequester) => Uint8Array | Promise<Uint8Array>;
  onSas?: SasCallback<PairingRequester>;
  signal?: AbortSignal;
}

export interface PairingResult {
  peer: PairingRequester;
  sas: string;
  /** True when B confirmed (authenticated) that it decrypted the grant before the deadline. */
  acknowledged: boolean;
}

export interface PairingOffer {
  /** Show this to the user: `PAIR-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`. */
  readonly code: string;
  readonly offerId: string;
  readonly expiresAt: number;
  /** Waits for the new device and grants it the payload. Call once. */
  complete(options: CompletePairingOptions): Promise<PairingResult>;
  /** Withdraws the offer (also stops a running complete(), which then rejects PAIRING_CANCELLED). */
  cancel(): Promise<void>;
}

export interface JoinOptions {
  deviceName: string;
  /** The new device's public identity (JSON object, at most 8 KiB), handed to the trusted device. */
  device: Record<string, unknown>;
  /** When set, an offer for another vault is refused (USAGE). */
  vaultId?: string;
  onSas?: SasCallback<PairingGranter>;
  signal?: AbortSignal;
  pollMs?: number;
  now?: () => number;
}

export interface JoinResult {
  payload: Buffer;
  sas: string;
  from: PairingGranter;
}

/** Device A: publishes an offer and returns the code to show. */
export async function startPairing(remote: Remote, options: StartPairingOptions): Promise<PairingOffer> {
  const { vaultId, deviceId, deviceName } = options;
  if (!VAULT_ID_RE.test(vaultId)) throw new CcsError('USAGE', 'startPairing: vaultId must be 32 hex digits');
  if (!DEVICE_ID_RE.test(deviceId)) throw new CcsError('USAGE', 'startPairing: deviceId must be 16 hex digits');
  assertName(deviceName, 'startPairing: deviceName');
  const ttlMs = options.ttlMs ?? PAIRING_DEFAULT_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0 || ttlMs > PAIRING_MAX_TTL_MS) {
    throw new CcsError('USAGE', `startPairing: ttlMs must be a whole number of milliseconds between 1 and ${PAIRING_MAX_TTL_MS}`);
  }
  const now = options.now ?? Date.now;
  const pollMs = checkPollMs(options.pollMs);

  let ephemeral: { publicKey: Buffer; privateKey: KeyObject } | undefined = x25519Generate();
  const pubA = ephemeral.publicKey;
  const commitA = sha256(frame(LABEL.commit, pubA)).toString('base64');

  let published: { code: PairingCode; kCode: Buffer; offerBody: string; expiresAt: number } | undefined;
  for (let attempt = 0; published === undefined; attempt++) {
    const code = newPairingCode();
    const kCode = codeKey(code);
    const createdAt = now();
    const expiresAt = createdAt + ttlMs;
    const offerBody = JSON.stringify({ v: 1, kind: 'offer', vaultId, offerId: code.offerId, fromDevice: deviceId, fromName: deviceName, commitA, createdAt, expiresAt });
    try {
      await remote.put(pairName.offer(code.offerId), envelope(offerBody, hmacSha256(kCode, frame(LABEL.offer, offerBody))), { createOnly: true });
      published = { code, kCode, offerBody, expiresAt };
    } catch (e) {
      kCode.fill(0);
      // 40-bit ids collide only by accident (or because the remote says so): try a fresh code.
      if (!isCcsError(e, 'ALREADY_EXISTS') || attempt >= 2) throw e;
    }
  }
  const { code, kCode, offerBody, expiresAt } = published;
  const offerId = code.offerId;
  const cancelled = new AbortController();
  let state: 'open' | 'running' | 'finished' = 'open';

  const complete = async (opts: CompletePairingOptions): Promise<PairingResult> => {
    if (state !== 'open') throw new CcsError('USAGE', 'complete() can be called once per pairing offer, and not after cancel()');
    state = 'running';
    const signal = opts.signal ? AbortSignal.any([opts.signal, cancelled.signal]) : cancelled.signal;
    const ctx: PollContext = { now, pollMs, signal };
    const wipe: Buffer[] = [kCode];
    try {
      if (now() > expiresAt) throw expiredOffer();
      // 1. B's response.
      const seen = new Set<string>();
      const rawResponse = await poll(ctx, expiresAt, () => readJson(remote, pairName.response(offerId), CAP.response, 'the pairing response', seen));
      if (rawResponse === undefined) throw expiredOffer();
      const responseBody = openEnvelope(
        rawResponse.json,
        kCode,
        frame(LABEL.response, offerBody),
        'the pairing response',
        'the answer to this pairing offer was modified on the remote, or came from a device that does not have the code: nothing was sent',
      );
      const response = parseBody(ResponseBodySchema, responseBody, 'the pairing response');
      if (response.offerId !== offerId) throw tampered('the pairing response names another offer: nothing was sent');
      const peer: PairingRequester = { deviceName: response.deviceName, device: response.device };

      // 2. Key agreement; reveal pubA only now that B's key is fixed.
      if (ephemeral === undefined) throw new CcsError('INTERNAL', 'pairing: the ephemeral key is gone');
      const shared = agree(ephemeral.privateKey, b64(response.pubB), 'the new device');
      ephemeral = undefined;
      wipe.push(shared);
      const t = transcript(offerBody, responseBody, pubA);
      const session = sessionKeys(shared, kCode, t);
      wipe.push(session.key);
      await putOnce(remote, pairName.reveal(offerId), json({ v: 1, kind: 'reveal', offerId, pubA: pubA.toString('base64') }), 'reveal');

      const readDone = async (): Promise<DoneKind | undefined> => {
        const raw = await readJson(remote, pairName.done(offerId), CAP.done, 'the pairing receipt', seen);
        return raw === undefined ? undefined : openDone(raw.json, kCode, offerBody, responseBody, offerId);
      };
      const refusedByPeer = (kind: DoneKind): CcsError =>
        kind === 'failed'
          ? tampered('the new device reports that the pairing messages it received were modified on the remote')
          : kind === 'cancelled'
            ? new CcsError('PAIRING_CANCELLED', 'the pairing was refused or cancelled on the new device: nothing was sent')
            : tampered('a receipt for keys that were never sent is on the remote: nothing was sent');

      // 3. SAS, while watching for B's refusal and the expiry.
      const verdict = await confirmSas(opts.onSas, session.sas, peer, ctx, expiresAt, readDone);
      if (verdict.kind === 'peer') throw refusedByPeer(verdict.value);
      if (verdict.kind === 'expired') throw expiredOffer();
      if (!verdict.accepted) throw new CcsError('PAIRING_CANCELLED', 'pairing refused on this device (the security codes were not confirmed): nothing was sent');
      if (now() > expiresAt) throw expiredOffer();

      // 4. Grant.
      const data = await opts.payload(peer);
      if (!(data instanceof Uint8Array)) throw new CcsError('USAGE', 'complete(): payload() must return bytes');
      if (data.length > PAIRING_MAX_PAYLOAD_BYTES) throw new CcsError('USAGE', `complete(): the payload is ${data.length} bytes; at most ${PAIRING_MAX_PAYLOAD_BYTES} can be paired`);
      const grant = seal(session.key, data, t, offerId);
      const late = await readDone();
      if (late !== undefined) throw refusedByPeer(late);
      throwIfAborted(signal);
      if (now() > expiresAt) throw expiredOffer();
      await putOnce(remote, pairName.grant(offerId), grant, 'grant');

      // 5. Receipt.
      const receipt = await poll(ctx, expiresAt + Math.min(ACK_GRACE_MS, ttlMs), readDone);
      if (receipt !== undefined && receipt !== 'done') throw refusedByPeer(receipt);
      return { peer, sas: session.sas, acknowledged: receipt === 'done' };
    } finally {
      state = 'finished';
      ephemeral = undefined;
      for (const b of wipe) b.fill(0);
      await removeGroup(remote, offerId);
    }
  };

  const cancel = async (): Promise<void> => {
    cancelled.abort(new CcsError('PAIRING_CANCELLED', 'the pairing offer was withdrawn'));
    if (state === 'open') {
      state = 'finished';
      ephemeral = undefined;
      kCode.fill(0);
      await removeGroup(remote, offerId);
    }
  };

  return { code: formatPairingCode(code), offerId, expiresAt, complete, cancel };
}

/** Device B: joins with the code the user typed; resolves with the payload A granted. */
export async function joinWithCode(remote: Remote, codeText: string, options: JoinOptions): Promise<JoinResult> {
  const code = parsePairingCode(codeText);
  assertName(options.deviceName, 'joinWithCode: deviceName');
  const device = options.device;
  if (typeof device !== 'object' || device === null || Array.isArray(device)) throw new CcsError('USAGE', 'joinWithCode: device must be a JSON object');
  let deviceJson: string;
  try {
    deviceJson = JSON.stringify(device);
    parseJsonText(deviceJson, 'device');
  } catch (e) {
    throw new CcsError('USAGE', 'joinWithCode: device must be plain JSON (no cycles, BigInts or __proto__ keys)', { cause: e });
  }
  if (Buffer.byteLength(deviceJson) > MAX_DEVICE_JSON) throw new CcsError('USAGE', `joinWithCode: device is larger than ${MAX_DEVICE_JSON} bytes as JSON`);
  if (options.vaultId !== undefined && !VAULT_ID_RE.test(options.vaultId)) throw new CcsError('USAGE', 'joinWithCode: vaultId must be 32 hex digits');
  const now = options.now ?? Date.now;
  const ctx: PollContext = { now, pollMs: checkPollMs(options.pollMs), signal: options.signal };
  const offerId = code.offerId;
  const kCode = codeKey(code);
  const wipe: Buffer[] = [kCode];

  let notify: ((kind: DoneKind) => Promise<void>) | undefined;
  try {
    throwIfAborted(ctx.signal);
    // 1. The offer.
    const offerBytes = await readBytes(remote, pairName.offer(offerId), CAP.offer, 'the pairing offer');
    if (offerBytes === undefined) {
      throw new CcsError(
        'PAIRING_EXPIRED',
        `there is no pairing offer for this code on ${remote.description}: it expired, was used or withdrawn, or the code was made for another remote; start a new pairing on the trusted device`,
      );
    }
    const rawOffer = parseJsonText(offerBytes, 'the pairing offer');
    const version = (rawOffer as { v?: unknown } | null)?.v;
    if (typeof version === 'number' && version > 1) {
      throw new CcsError('FORMAT_UNSUPPORTED', `the pairing offer was made by a newer ccsync (pairing format v${version}); update this one`);
    }
    const offerBody = openEnvelope(rawOffer, kCode, frame(LABEL.offer), 'the pairing offer', 'the pairing offer on the remote was modified, or the code is wrong (check it and type it again)');
    const offer = parseBody(OfferBodySchema, offerBody, 'the pairing offer');
    if (offer.offerId !== offerId) throw tampered('the pairing offer on the remote is not the one this code names');
    if (offer.expiresAt < offer.createdAt || offer.expiresAt - offer.createdAt > PAIRING_MAX_TTL_MS) throw tampered('the pairing offer has an impossible lifetime');
    if (now() > offer.expiresAt + CLOCK_SKEW_MS) throw new CcsError('PAIRING_EXPIRED', 'this pairing code has expired; start a new pairing on the trusted device');
    if (options.vaultId !== undefined && options.vaultId !== offer.vaultId) {
      throw new CcsError('USAGE', `this pairing code is for vault ${offer.vaultId}, but this device belongs to vault ${options.vaultId}`);
    }
    const from: PairingGranter = { deviceId: offer.fromDevice, deviceName: offer.fromName, vaultId: offer.vaultId };
    const deadline = offer.expiresAt + CLOCK_SKEW_MS;

    // 2. The response.
    let ephemeral: { publicKey: Buffer; privateKey: KeyObject } | undefined = x25519Generate();
    const responseBody = JSON.stringify({ v: 1, kind: 'response', offerId, pubB: ephemeral.publicKey.toString('base64'), deviceName: options.deviceName, device });
    try {
      await remote.put(pairName.response(offerId), envelope(responseBody, hmacSha256(kCode, frame(LABEL.response, offerBody, responseBody))), { createOnly: true });
    } catch (e) {
      if (isCcsError(e, 'ALREADY_EXISTS')) {
        throw new CcsError('PAIRING_EXPIRED', 'this pairing code has already been used by another device (each code works once); start a new pairing on the trusted device');
      }
      throw e;
    }
    notify = async (kind) => {
      notify = undefined;
      const body = JSON.stringify({ v: 1, kind, offerId });
      await remote.put(pairName.done(offerId), envelope(body, hmacSha256(kCode, frame(LABEL.done, offerBody, responseBody, body))), { createOnly: true }).catch(() => undefined);
    };
    const stillOffered = async (): Promise<undefined> => {
      if ((await remote.stat(pairName.offer(offerId))) === null) {
        notify = undefined; // A is gone: a receipt would only be litter.
        throw new CcsError('PAIRING_CANCELLED', 'the trusted device withdrew the pairing offer (refused, cancelled, failed or expired there: its screen says why)');
      }
      return undefined;
    };

    // 3. A's revealed key.
    const seen = new Set<string>();
    const rawReveal = await poll(ctx, deadline, async () => (await readJson(remote, pairName.reveal(offerId), CAP.reveal, 'the pairing reveal', seen)) ?? stillOffered());
    if (rawReveal === undefined) throw new CcsError('PAIRING_EXPIRED', 'the trusted device did not answer before the pairing code expired');
    const reveal = untrusted(RevealSchema, rawReveal.json, 'the pairing reveal');
    const pubA = b64(reveal.pubA);
    if (reveal.offerId !== offerId || !timingSafeEqualBuf(sha256(frame(LABEL.commit, pubA)), b64(offer.commitA))) {
      await notify?.('failed');
      throw tampered("the trusted device's key on the remote does not match the one its offer committed to: it was replaced on the remote");
    }
    const shared = agree(ephemeral.privateKey, pubA, 'the trusted device');
    ephemeral = undefined;
    wipe.push(shared);
    const t = transcript(offerBody, responseBody, pubA);
    const session = sessionKeys(shared, kCode, t);
    wipe.push(session.key);

    // 4. SAS, while watching for A to withdraw.
    const verdict = await confirmSas(options.onSas, session.sas, from, ctx, deadline, stillOffered);
    if (verdict.kind === 'expired') throw new CcsError('PAIRING_EXPIRED', 'the pairing code expired before the security codes were confirmed');
    if (verdict.kind === 'answer' && !verdict.accepted) {
      await notify?.('cancelled');
      throw new CcsError('PAIRING_CANCELLED', 'pairing refused on this device (the security codes were not confirmed): nothing was received');
    }

    // 5. The grant.
    const rawGrant = await poll(ctx, deadline, async () => (await readJson(remote, pairName.grant(offerId), CAP.grant, 'the pairing grant', seen)) ?? stillOffered());
    if (rawGrant === undefined) throw new CcsError('PAIRING_EXPIRED', 'the trusted device did not send the keys before the pairing code expired');
    let payload: Buffer | null;
    try {
      payload = open(session.key, untrusted(GrantSchema, rawGrant.json, 'the pairing grant'), t, offerId);
    } catch (e) {
      if (!isCcsError(e, 'PAIRING_TAMPERED')) throw e;
      payload = null;
    }
    if (payload === null) {
      await notify?.('failed');
      throw tampered('the keys sent by the trusted device were modified on the remote (they do not decrypt): nothing was received');
    }
    await notify?.('done');
    return { payload, sas: session.sas, from };
  } catch (e) {
    if (notify && (ctx.signal?.aborted || isCcsError(e, 'PAIRING_CANCELLED'))) await notify('cancelled');
    throw e;
  } finally {
    for (const b of wipe) b.fill(0);
  }
}

/**
 * Deletes pairing objects whose offer expired more than `graceMs` ago, whose offer is gone, or
 * whose offer cannot be read at all. Offers are not authenticated here (only their code holders
 * could), so this trusts the remote's word on expiry, which costs nothing: the remote can delete
 * them anyway. Returns the number of objects deleted.
 */
export async function sweepExpiredOffers(remote: Remote, now: number = Date.now(), graceMs: number = SWEEP_GRACE_MS): Promise<number> {
  const groups = new Map<string, string[]>();
  for (const { name } of await remote.list(pairName.prefix)) {
    const m = GROUP_OBJECT_RE.exec(name);
    if (!m) continue; // a hostile listing may name anything; only pairing objects are ours to delete
    const id = m[1] as string;
    const list = groups.get(id) ?? [];
    list.push(name);
    groups.set(id, list);
  }
  let deleted = 0;
  for (const [id, objects] of groups) {
    const offerName = pairName.offer(id);
    if (objects.includes(offerName) && !(await offerIsStale(remote, offerName, now, graceMs))) continue;
    // The offer goes first, so a device still waiting on it learns at once.
    objects.sort((a, b) => Number(b === offerName) - Number(a === offerName));
    for (const name of objects) {
      await remote.delete(name);
      deleted++;
    }
  }
  return deleted;
}

