import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';
import { RipcordSequencer, SERIAL_FILES } from './test/sequencer.js';
import { TEST_WORKERS } from './test/workers.js';

// The SDK workspaces (@ripcord/node, @ripcord/react) resolve to their TypeScript sources in tests.
const SOURCE = 'ripcord-source';
// Every file of these projects gets its own database, Redis index and prefix, and Temporal namespace
// (test/integration/worker-setup.ts); the global setup migrates the template and bundles the workflows once.
// Unit and integration files run one after another in their worker's process (isolate: false): the
// module graph (Temporal's worker, the app) loads once per worker, not once per file (2–3 s each).
const STACK_SETUP = { setupFiles: ['test/integration/worker-setup.ts'], globalSetup: ['test/integration/global-setup.ts'] };

export default defineConfig({
  resolve: { conditions: [SOURCE, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE, ...defaultServerConditions] } },
  test: {
    sequence: { sequencer: RipcordSequencer },
    projects: [
      // Property tests walk 100 000 keys: on a shared 2-core machine that can take more than vitest's 5 s default.
      // Group 0 (with the integration files): the same number of workers.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000, maxWorkers: TEST_WORKERS, isolate: false } },
      {
        extends: true,
        test: {
          name: 'integration',
          // Integration and browser files, TEST_WORKERS at a time, each isolated (above).
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          exclude: SERIAL_FILES,
          maxWorkers: TEST_WORKERS,
          isolate: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          ...STACK_SETUP,
          globalSetup: [...STACK_SETUP.globalSetup, 'test/e2e/build-ui.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'serial',
          // The files that stop and restart the shared services: alone, after group 0, in the order of SERIAL_FILES.
          include: SERIAL_FILES,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          ...STACK_SETUP,
        },
      },
      {
        extends: true,
        test: {
          name: 'chaos',
          // A fleet of its own (redis-server, database ripcord_chaos_test, task queue) on the stack's
          // PostgreSQL and Temporal, faults injected through its own proxies: heavy, so it runs last, alone.
          include: ['test/chaos/**/*.test.ts'],
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
          testTimeout: 90_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
