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
    // RIPCORD_TEST_JSON=<file>: vitest's JSON report too (each file's start and end: the run's critical path).
    reporters: process.env.RIPCORD_TEST_JSON ? ['default', ['json', { outputFile: process.env.RIPCORD_TEST_JSON }]] : ['default'],
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
          // The stack's global setup and the admin UI's build, at once.
          globalSetup: ['test/e2e/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'serial',
          // The files that stop and restart the services they run on, one at a time in the order of SERIAL_FILES:
          // in a whole `npm test`, in a vitest of their own on the outage stack beside the rest (scripts/test-vitest.sh);
          // in a run of some files, on the main stack after group 0.
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
          // PostgreSQL and Temporal, faults injected through its own proxies. In a whole `npm test` it
          // runs on the outage stack before the serial files, beside the rest (scripts/test-vitest.sh);
          // it stops nothing another file uses, so in a run of some files it runs in group 0 with them.
          include: ['test/chaos/**/*.test.ts'],
          maxWorkers: TEST_WORKERS,
          testTimeout: 90_000,
          hookTimeout: 240_000,
          // For the run's workflow bundle, which the fleet's workers run.
          globalSetup: STACK_SETUP.globalSetup,
        },
      },
    ],
  },
});
