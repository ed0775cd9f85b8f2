import { z } from 'zod';
import { CcsError } from '../common/errors';
import { decodeBase64Strict } from '../crypto/base64';
import type { Remote } from '../remotes/remote';
import type { DeviceIdentity } from './keyring/identity';
import { fingerprint } from './keyring/identity';
import { joinWithCode, startPairing, sweepExpiredOffers, type PairingRequester, type SasCallback, type PairingGranter } from './pairing';
import type { DeviceSession } from './session';
import { unlockWithPairedKeys, type Manifest, type VaultKeys } from './vaultKeys';

/**
 * What pairing hands over, on top of the pairing protocol (core/engine/pairing.ts): the vault's
 * master key and the current epoch's data key, encrypted to the new device's ephemeral pairing key.
 * The new device then registers itself (a self-signed registration MACed under that epoch key)
 * and seals the epoch key to its own long-term X25519 key, like a password join.
 */
const PayloadSchema = z.object({ v: z.literal(1), vaultId: z.string(), masterKey: z.string(), epoch: z.number().int().positive(), epochKey: z.string() });
const PeerSchema = z.object({ id: z.string().regex(/^[0-9a-f]{16}$/), signPub: z.string(), kexPub: z.string() });

export interface PairHostOptions {
  ttlMs?: number;
  pollMs?: number;
  onCode: (code: string, expiresAt: number) => void;
  onSas?: SasCallback<PairingRequester>;
  signal?: AbortSignal;
}

export interface PairedDevice {
  id: string;
  name: string;
  fingerprint: string;
  sas: string;
}

export async function pairNewDevice(s: DeviceSession, o: PairHostOptions): Promise<PairedDevice> {
  // Exchanges a crashed device left behind are litter (they hold no secret): clear them first.
  await sweepExpiredOffers(s.remote).catch(() => 0);
  const offer = await startPairing(s.remote, { vaultId: s.keys.vaultId, deviceId: s.config.deviceId, deviceName: s.config.deviceName, ...(o.ttlMs ? { ttlMs: o.ttlMs } : {}), ...(o.pollMs ? { pollMs: o.pollMs } : {}) });
  o.onCode(offer.code, offer.expiresAt);
  const onAbort = () => void offer.cancel();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await offer.complete({
      ...(o.onSas ? { onSas: o.onSas } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      payload: (peer) => {
        const p = PeerSchema.safeParse(peer.device);
        if (!p.success) throw new CcsError('PAIRING_TAMPERED', 'the new device sent no valid identity');
        const key = s.keys.epochs.get(s.keys.currentEpoch)!;
        return Buffer.from(JSON.stringify({ v: 1, vaultId: s.keys.vaultId, masterKey: s.keys.masterKey.toString('base64'), epoch: s.keys.currentEpoch, epochKey: key.toString('base64') }));
      },
    });
    const peer = PeerSchema.parse(r.peer.device);
    return { id: peer.id, name: r.peer.deviceName, fingerprint: fingerprint(Buffer.from(peer.signPub, 'base64')), sas: r.sas };
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** The `paired` hook of joinDevice: runs the new device's side and unlocks with what it received. */
export function joinByPairing(code: string, o: { onSas?: SasCallback<PairingGranter>; signal?: AbortSignal; pollMs?: number; onPaired?: (from: PairingGranter, sas: string) => void }) {
  return async (remote: Remote, manifest: Manifest, identity: DeviceIdentity, deviceName: string): Promise<VaultKeys> => {
    const r = await joinWithCode(remote, code, {
      deviceName,
      device: { id: identity.deviceId, signPub: identity.signPub.toString('base64'), kexPub: identity.kexPub.toString('base64') },
      vaultId: manifest.vaultId,
      ...(o.onSas ? { onSas: o.onSas } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.pollMs ? { pollMs: o.pollMs } : {}),
    });
    let payload;
    try {
      payload = PayloadSchema.parse(JSON.parse(r.payload.toString('utf8')));
    } catch {
      throw new CcsError('PAIRING_TAMPERED', 'the pairing grant does not hold vault keys');
    } finally {
      r.payload.fill(0);
    }
    const masterKey = decodeBase64Strict(payload.masterKey);
    const epochKey = decodeBase64Strict(payload.epochKey);
    if (payload.vaultId !== manifest.vaultId || masterKey?.length !== 32 || epochKey?.length !== 32) throw new CcsError('PAIRING_TAMPERED', 'the pairing grant is for another vault or malformed');
    o.onPaired?.(r.from, r.sas);
    // The keys are checked like any grant: the epoch key against the signed epoch doc, M against epoch 1 and the manifest.
    return unlockWithPairedKeys(remote, manifest, masterKey, payload.epoch, epochKey, identity);
  };
}
