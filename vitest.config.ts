import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// The SDK workspaces (@ripcord/node, @ripcord/react) resolve to their TypeScript sources in tests.
const SOURCE = 'ripcord-source';

export default defineConfig({
  resolve: { conditions: [SOURCE, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE, ...defaultServerConditions] } },
  test: {
    projects: [
      // Property tests walk 100 000 keys: on a shared 2-core machine that can take more than vitest's 5 s default.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      {
        extends: true,
        test: {
          name: 'integration',
          // The browser tests (test/e2e) share the stack, so they run in this project, one file at a time.
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          // One shared stack (Postgres, Redis, Temporal): files run one at a time.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ['test/integration/global-setup.ts', 'test/e2e/build-ui.ts'],
        },
      },
    ],
  },
});
