/**
 * The renderer alone, for browsers: built to out/renderer-web and served by `ccsync daemon`
 * (which also sends the CSP and anti-framing headers). `npx vite build`.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
// The extension keeps Vite's native config loader happy; this file is not in a tsconfig.
import { CSP_META } from './electron/main/csp.ts';

const cspMeta: Plugin = {
  name: 'ccsync:csp-meta',
  apply: 'build',
  transformIndexHtml(html) {
    const charset = '<meta charset="UTF-8" />';
    if (!html.includes(charset)) throw new Error('renderer/index.html: expected <meta charset="UTF-8" /> to anchor the CSP');
    return html.replace(charset, `${charset}\n    <meta http-equiv="Content-Security-Policy" content="${CSP_META}" />`);
  },
};

export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  plugins: [react(), cspMeta],
  build: {
    outDir: fileURLToPath(new URL('./out/renderer-web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
  },
});
