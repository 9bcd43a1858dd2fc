/**
 * What the integration and browser tests share, built once for a whole `npm test` run by
 * scripts/test.sh while the stack starts: the workflow bundle (.stack/test-workflow-bundle.js, what
 * every test worker runs) and the admin UI (what the API under test serves at `/`). Both vitest
 * processes of the run (scripts/test-vitest.sh) use them; a run of some files builds them in
 * vitest's global setup instead (test/integration/global-setup.ts, test/e2e/global-setup.ts).
 */
import { writeTestBundle } from '../../test/integration/test-bundle.js';
import { buildUi } from '../../test/e2e/build-ui.js';

const t0 = performance.now();
const [bundle] = await Promise.all([writeTestBundle(), buildUi()]);
console.log(`[test] the workflow bundle (${bundle}) and the admin UI built in ${Math.round(performance.now() - t0)} ms`);
