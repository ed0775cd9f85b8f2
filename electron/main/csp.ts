/**
 * The renderer's Content-Security-Policy, in one place: main sends it as a response header (dev
 * server) and the build writes it into index.html as a <meta> tag, because pages loaded from
 * file:// carry no response headers. No inline scripts, no eval, no remote origins.
 */
const BASE = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
];

/** For the <meta> tag (frame-ancestors is ignored there, so it is left out). */
export const CSP_META = BASE.join('; ');

/** For the response header. */
export const CSP_HEADER = [...BASE, "frame-ancestors 'none'"].join('; ');

/**
 * The dev server needs an inline module script (React Refresh preamble) and a WebSocket for HMR.
 * Never used for a packaged app.
 */
export const CSP_DEV = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' ws://localhost:* ws://127.0.0.1:*",
  "object-src 'none'",
  "base-uri 'none'",
].join('; ');
