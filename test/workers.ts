/**
 * How many files the integration and browser tests run at once, each in a vitest worker with a
 * database, Redis index and prefix, and Temporal namespace of its own (test/integration/test-target.ts).
 * RIPCORD_TEST_WORKERS overrides it.
 */
export const TEST_WORKERS = Number(process.env.RIPCORD_TEST_WORKERS ?? 4);

/** The custom search attributes the API and worker use (src/temporal/search-attributes.ts; scripts/stack-lib.sh registers them in the dev namespace). */
export const SEARCH_ATTRIBUTE_NAMES = ['FlagKey', 'Environment', 'Actor', 'RolloutStrategy', 'ReleasePipeline'];
