/**
 * Buffer.from(s, 'base64') skips characters it does not know and accepts missing padding, so a
 * damaged or hostile file could show one salt or nonce and mean another. Key files and wrapped keys
 * accept only canonical, padded base64.
 */
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The decoded bytes, or null when `s` is not canonical padded base64. */
export function decodeBase64Strict(s: string): Buffer | null {
  if (!BASE64_RE.test(s)) return null;
  const bytes = Buffer.from(s, 'base64');
  // Non-zero padding bits would let two different strings name the same bytes.
  return bytes.toString('base64') === s ? bytes : null;
}
