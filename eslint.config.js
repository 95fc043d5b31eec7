// @ts-check
const tseslint = require('typescript-eslint');

const NODE_BUILTINS = ['fs', 'path', 'os', 'crypto', 'child_process', 'net', 'http', 'https', 'worker_threads', 'process', 'util', 'stream', 'events', 'dns', 'tls', 'zlib', 'url', 'buffer', 'timers'];

module.exports = tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'generated/', '.cache/', 'coverage/', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node built-ins.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: NODE_BUILTINS.flatMap((m) => [m, `node:${m}`]), patterns: [{ group: ['../adapters/*', '../activities/*', '../config/*'], allowTypeImports: true, message: 'Workflows import activity types only; I/O lives in activities.' }] }],
    },
  },
);
