const SEGMENT_RE = /^[a-z0-9_.-]+$/;

/**
 * list() prefixes are object names cut anywhere ('data/a' matches 'data/ab/…'): every complete
 * segment must be a valid name segment, the last may be partial or empty. Like assertObjectName,
 * a bad prefix is a programming error or an attack, so it fails before any I/O.
 */
export function assertListPrefix(prefix: string): void {
  const cut = prefix.lastIndexOf('/');
  const partial = prefix.slice(cut + 1);
  const ok =
    /^[a-z0-9_.-]*$/.test(partial) &&
    (cut < 0 ||
      prefix
        .slice(0, cut)
        .split('/')
        .every((s) => SEGMENT_RE.test(s) && s !== '.' && s !== '..'));
  if (!ok) throw new Error(`invalid object name prefix: ${JSON.stringify(prefix)}`);
}
