/** Bytes moved to and from the remote during one operation (ciphertext, as the storage sees it). */
export interface TransferStats {
  bytesUploaded: number;
  bytesDownloaded: number;
}

export function newStats(): TransferStats {
  return { bytesUploaded: 0, bytesDownloaded: 0 };
}
