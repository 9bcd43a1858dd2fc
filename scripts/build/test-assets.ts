/**
 * What the integration and browser tests share, built once for a whole `npm test` run by
 * scripts/test.sh while the stacks start (on a fresh machine, while the test tools install): the
 * workflow bundle (.stack/test-workflow-bundle.js, what every test worker runs) and the admin UI
 * (what the API under test serves at `/`), which both vitest processes of the run use
 * (scripts/test-vitest.sh); and, unless they are fresh, the server's production build and the SDK
 * packages, which their tests would otherwise build in the middle of the run. A run of some files
 * builds the first two in vitest's global setup (test/integration/global-setup.ts,
 * test/e2e/global-setup.ts) and the others in the tests that need them.
 */
import { buildPackages, buildServer } from '../../test/integration/build-helpers.js';
import { writeTestBundle } from '../../test/integration/test-bundle.js';
import { buildUi } from '../../test/e2e/build-ui.js';

/**
 * A build that fails here (a type error in src/) is not fatal: the test that needs it builds again
 * and says why, and every other test still runs.
 */
async function tryBuild(what: string, build: () => Promise<void>): Promise<void> {
  try {
    await build();
  } catch (error) {
    console.log(`[test] building ${what} failed; its tests will try again and report it: ${String(error).slice(0, 500)}`);
  }
}

const t0 = performance.now();
const [bundle] = await Promise.all([writeTestBundle(), buildUi(), tryBuild('the production build', buildServer), tryBuild('the SDK packages', buildPackages)]);
console.log(`[test] the workflow bundle (${bundle}), the admin UI, the production build and the SDK packages ready in ${Math.round(performance.now() - t0)} ms`);
