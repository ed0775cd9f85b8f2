/**
 * The renderer alone, for browsers: built to out/renderer-web and served by `ccsync daemon`
 * (which also sends the CSP and anti-framing headers). `npx vite build`.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { CSP_META } from './electron/main/csp';

const cspMeta: Plugin = {
  name: 'ccsync:csp-meta',
  apply: 'build',
  transformIndexHtml: () => [
    { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP_META }, injectTo: 'head-prepend' },
  ],
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
