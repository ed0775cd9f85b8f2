export { gearTable } from './gear';
export { type CdcParams, DEFAULT_CDC, validateCdcParams, Chunker, chunkBuffer, chunkFile } from './fastcdc';
export { type Codec, CODEC_IDS, codecFromId, compressChunk, decompressChunk } from './compress';
