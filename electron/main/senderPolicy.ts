/**
 * Which frames may call the contract: only a top-level frame showing our own renderer, i.e. the
 * exact file:// URL of the built index.html or, in development, the dev server's origin.
 */
export interface SenderPolicyOptions {
  /** file:// URL of out/renderer/index.html. */
  fileUrl: string;
  /** electron-vite's dev server URL; honoured only when not packaged. */
  devUrl?: string | undefined;
}

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

export function createSenderPolicy(options: SenderPolicyOptions): (frameUrl: string | undefined) => boolean {
  const file = parse(options.fileUrl);
  const dev = options.devUrl ? parse(options.devUrl) : null;
  return (frameUrl) => {
    const url = frameUrl ? parse(frameUrl) : null;
    if (!url) return false;
    if (file && url.protocol === 'file:' && file.protocol === 'file:') {
      // Ignore ?query and #hash (client-side routing), never the path.
      return url.pathname === file.pathname && url.host === file.host;
    }
    if (dev && (url.protocol === 'http:' || url.protocol === 'https:')) return url.origin === dev.origin;
    return false;
  };
}
