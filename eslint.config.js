// @ts-check
import tseslint from 'typescript-eslint';
import { layerConfigs } from './eslint.layers.js';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.bench-build/**', 'packages/*/dist/**', '.stack/**', '.tools/**', 'ui/dist/**', 'coverage/**', 'test-artifacts/**', 'test/fixtures/refs-app/**'] },
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
  // The layers of docs/architecture.md §2: who may import whom, SQL only in stores, workflows without I/O.
  ...layerConfigs(import.meta.dirname),
);
