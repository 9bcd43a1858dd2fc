// @ts-check
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'packages/*/dist/**', '.stack/**', '.tools/**', 'ui/dist/**', 'coverage/**', 'test-artifacts/**', 'test/fixtures/refs-app/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // An un-awaited promise is a lost write or an unobserved activity failure.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // The admin UI types every answer from src/protocol/admin-api.ts: an `any` would hide a server change from tsc,
    // so it is refused, and inline comments cannot switch the rule off.
    files: ['ui/**/*.ts', 'ui/**/*.tsx'],
    linterOptions: { noInlineConfig: true },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': 'error',
    },
  },
  {
    // Workflow code is replayed: it must be deterministic and free of I/O.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflows must not import Node built-ins (determinism).' },
            { group: ['../activities/*', '../api/*'], allowTypeImports: true, message: 'Workflows import activities as types only.' },
            // Feature folders start workflows (and import their message definitions); a value import back would
            // close the loop. Values come only from the deterministic vocabulary: src/domain/ and the workflow ids.
            {
              regex: '^\\.\\./src/(?!domain/|temporal/workflow-ids\\.js$|temporal/search-attributes\\.js$)',
              allowTypeImports: true,
              message: 'Workflows import src/ as types only, except src/domain/ and the workflow ids: put shared vocabulary in src/domain/.',
            },
          ],
          paths: [
            'fs', 'fs/promises', 'path', 'os', 'crypto', 'http', 'https', 'net', 'dns', 'child_process',
            'worker_threads', 'timers', 'events', 'stream', 'pg', 'ioredis', 'express', '@slack/web-api',
            '@slack/bolt', 'pino', 'prom-client', '@temporalio/client', '@temporalio/worker', '@temporalio/activity',
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Workflows are replayed: no randomness.' }],
    },
  },
);
