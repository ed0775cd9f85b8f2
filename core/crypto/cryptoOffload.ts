import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CcsError, type ErrorCode } from '../common/errors';
import { hmacSha256 } from './keys';
import { decryptRange, encryptObject, readHeaderEpoch, type EpochKeyLookup } from './stream';

/**
 * Runs bulk AES-GCM work on a worker thread when the bundled worker script is present (the CLI,
 * the daemon, benchmarks), and inline otherwise (unit tests running TypeScript sources). Results
 * are identical either way; only which core does the work changes.
 */
export type WorkerRequest =
  | { id: number; op: 'hmac'; data: ArrayBuffer; key: ArrayBuffer }
  | { id: number; op: 'encrypt'; plain: ArrayBuffer; objectId: string; epoch: number; key: ArrayBuffer }
  | {
      id: number;
      op: 'decryptRange';
      header: ArrayBuffer;
      slice: ArrayBuffer;
      firstSegment: number;
      objectCipherLength: number;
      objectId: string;
      epoch: number;
      key: ArrayBuffer;
      skip: number;
      plainLength: number;
    };

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export type WorkerResponse = { id: number; ok: true; data: ArrayBuffer; mac?: ArrayBuffer } | { id: number; ok: false; code: string; message: string };

export interface CryptoOffload {
  /** True when work really runs on another thread (callers may then pipeline small requests). */
  readonly parallel: boolean;
  /** HMAC-SHA256 of a chunk; the chunk is handed over and comes back as a new Buffer. */
  hmac(key: Buffer, data: Buffer): Promise<{ mac: Buffer; data: Buffer }>;
  encrypt(plain: Buffer, objectId: string, epoch: number, key: Buffer): Promise<Buffer>;
  decryptRange(header: Buffer, slice: Buffer, firstSegment: number, objectCipherLength: number, objectId: string, keys: EpochKeyLookup, skip: number, plainLength: number): Promise<Buffer>;
}

const inline: CryptoOffload = {
  parallel: false,
  hmac: async (key, data) => ({ mac: hmacSha256(key, data), data }),
  encrypt: async (plain, objectId, epoch, key) => encryptObject(plain, objectId, epoch, key),
  decryptRange: async (...a) => decryptRange(...a),
};

/** Copies into a fresh ArrayBuffer unless the Buffer already owns one exactly (then it is moved, not copied). */
function transferable(b: Buffer): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  return new Uint8Array(b).buffer as ArrayBuffer;
}

class WorkerOffload implements CryptoOffload {
  readonly parallel = true;
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (r: { data: Buffer; mac?: Buffer }) => void; reject: (e: unknown) => void }>();
  private nextId = 1;

  constructor(private readonly script: URL) {}

  /** Started on the first request, not before: a sync that encrypts nothing never pays for a thread. */
  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.script);
    worker.on('message', (res: WorkerResponse) => {
      const p = this.pending.get(res.id);
      if (!p) return;
      this.pending.delete(res.id);
      if (this.pending.size === 0) worker.unref();
      if (res.ok) p.resolve(res.mac ? { data: Buffer.from(res.data), mac: Buffer.from(res.mac) } : { data: Buffer.from(res.data) });
      else p.reject(new CcsError(res.code as ErrorCode, res.message));
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => {
      this.worker = null;
      this.fail(new CcsError('INTERNAL', `crypto worker exited (code ${code})`));
    });
    this.worker = worker;
    return worker;
  }

  private fail(e: unknown): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private call(req: DistributiveOmit<WorkerRequest, 'id'>, transfer: ArrayBuffer[]): Promise<{ data: Buffer; mac?: Buffer }> {
    const id = this.nextId++;
    const worker = this.start();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ ...req, id }, transfer);
    });
  }

  private async callData(req: DistributiveOmit<WorkerRequest, 'id'>, transfer: ArrayBuffer[]): Promise<Buffer> {
    return (await this.call(req, transfer)).data;
  }

  async hmac(key: Buffer, data: Buffer): Promise<{ mac: Buffer; data: Buffer }> {
    const d = transferable(data);
    const r = await this.call({ op: 'hmac', data: d, key: new Uint8Array(key).buffer as ArrayBuffer }, [d]);
    return { mac: r.mac!, data: r.data };
  }

  async encrypt(plain: Buffer, objectId: string, epoch: number, key: Buffer): Promise<Buffer> {
    const p = transferable(plain);
    return (await this.call({ op: 'encrypt', plain: p, objectId, epoch, key: new Uint8Array(key).buffer as ArrayBuffer }, [p])).data;
  }

  decryptRange(header: Buffer, slice: Buffer, firstSegment: number, objectCipherLength: number, objectId: string, keys: EpochKeyLookup, skip: number, plainLength: number): Promise<Buffer> {
    const epoch = readHeaderEpoch(header);
    const key = keys(epoch);
    if (!key) return inline.decryptRange(header, slice, firstSegment, objectCipherLength, objectId, keys, skip, plainLength); // reports LOCKED with the usual message
    const s = transferable(slice);
    return this.callData(
      { op: 'decryptRange', header: new Uint8Array(header).buffer as ArrayBuffer, slice: s, firstSegment, objectCipherLength, objectId, epoch, key: new Uint8Array(key).buffer as ArrayBuffer, skip, plainLength },
      [s],
    );
  }
}

let shared: (CryptoOffload & { close?: () => Promise<void> }) | null = null;

/** The process-wide offload; the worker starts on first use and is unref'd while idle. */
export function cryptoOffload(): CryptoOffload {
  if (shared) return shared;
  const script = new URL('./cryptoWorker.mjs', import.meta.url);
  shared = script.protocol === 'file:' && existsSync(fileURLToPath(script)) && process.env.CCSYNC_CRYPTO_WORKER !== '0' ? new WorkerOffload(script) : inline;
  return shared;
}

/** Stops the worker (end of a CLI command), so no thread outlives the work. */
export async function closeCryptoOffload(): Promise<void> {
  const s = shared;
  shared = null;
  await s?.close?.();
}
