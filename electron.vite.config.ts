import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { CSP_META } from './electron/main/csp';

/** Native modules stay in node_modules (rebuilt for Electron's ABI by electron-builder). */
const NATIVE_DEPS = ['better-sqlite3', '@napi-rs/keyring', 'argon2'];

/** file:// pages get no response headers, so the built index.html carries the CSP itself. */
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
  main: {
    build: {
      // `dependencies` are external by default; the native ones are listed so they stay external
      // even if someone moves them to devDependencies.
      externalizeDeps: { include: NATIVE_DEPS },
      rolldownOptions: { input: { index: resolve('electron/main/index.ts') } },
    },
  },
  preload: {
    build: {
      // Sandboxed preloads cannot load modules: one self-contained CommonJS file that requires
      // only 'electron'.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve('electron/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('renderer'),
    plugins: [react(), cspMeta],
    build: {
      outDir: resolve('out/renderer'),
      rolldownOptions: { input: { index: resolve('renderer/index.html') } },
    },
  },
});
