// Flat config. Beyond typescript-eslint's recommended rules, it enforces the layer rules of
// docs/DESIGN.md: core/ never imports Electron, React or the DOM; the renderer sees only the
// contract in core/api/. (DOM types are kept out of core/ by tsconfig.node.json, which has no DOM lib.)
import tseslint from 'typescript-eslint';

const uiPackages = ['electron', 'react', 'react-dom', 'react/*', 'react-dom/*', 'zustand', 'zustand/*'];

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', 'release/', 'test-results/', 'playwright-report/', 'assets/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: uiPackages.filter((p) => !p.includes('*')), patterns: [{ group: uiPackages.filter((p) => p.includes('*')), message: 'core/ is plain Node: no UI or Electron imports' }] }],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'localStorage'],
    },
  },
  {
    files: ['core/api/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', '../*', '!../api/*'], message: 'core/api is the contract shared with the renderer: types and constants only, no Node or core internals' }], paths: uiPackages.filter((p) => !p.includes('*')) }],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/core/*', '!**/core/api', '!**/core/api/*'], message: 'the renderer may import only the contract (core/api)' },
            { group: ['node:*', 'electron'], message: 'the renderer runs in a sandbox: no Node or Electron imports' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', 'scripts/**', 'bin/**', 'bench/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly', globalThis: 'readonly' } },
  },
);
