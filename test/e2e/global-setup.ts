import type { TestProject } from 'vitest/node';
import stackSetup from '../integration/global-setup.js';
import { buildUi } from './build-ui.js';

/**
 * The global setup of the integration and browser files: the stack's (test/integration/global-setup.ts:
 * the template database, the namespaces, the workflow bundle) and the admin UI's build, at once. Each
 * is mostly one core's work (webpack, vite), so together they take about as long as the longer one.
 */
export default async function setup(project: TestProject): Promise<void> {
  // scripts/test.sh built the UI before a whole run (scripts/build/test-assets.ts).
  const ui = process.env.RIPCORD_TEST_ASSETS_BUILT === '1' ? undefined : buildUi();
  await Promise.all([ui, stackSetup(project)]);
}
