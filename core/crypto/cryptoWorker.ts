/**
 * Worker-thread entry for bulk object encryption and decryption. AES-GCM over packs is the
 * largest single cost of a big push after chunking; running it on the second core lets chunking
 * and hashing continue on the main thread. Built as dist/cryptoWorker.mjs next to the CLI bundle.
 */
import { parentPort } from 'node:worker_threads';
import { hmacSha256 } from './keys';
import { decryptRange, encryptObject } from './stream';
import type { WorkerRequest, WorkerResponse } from './cryptoOffload';

function owned(b: Buffer): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  return new Uint8Array(b).buffer as ArrayBuffer;
}

parentPort?.on('message', (req: WorkerRequest) => {
  let res: WorkerResponse;
  try {
    if (req.op === 'hmac') {
      const mac = owned(hmacSha256(Buffer.from(req.key), Buffer.from(req.data)));
      res = { id: req.id, ok: true, data: req.data, mac };
      parentPort!.postMessage(res, [req.data, mac]);
      return;
    }
    const out =
      req.op === 'encrypt'
        ? encryptObject(Buffer.from(req.plain), req.objectId, req.epoch, Buffer.from(req.key))
        : decryptRange(Buffer.from(req.header), Buffer.from(req.slice), req.firstSegment, req.objectCipherLength, req.objectId, (e) => (e === req.epoch ? Buffer.from(req.key) : undefined), req.skip, req.plainLength);
    const buf = owned(out);
    res = { id: req.id, ok: true, data: buf };
    parentPort!.postMessage(res, [buf]);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    res = { id: req.id, ok: false, code: err.code ?? 'INTERNAL', message: err.message ?? String(e) };
    parentPort!.postMessage(res);
  }
});
