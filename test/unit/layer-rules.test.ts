import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';
import { layerConfigs } from '../../eslint.layers.js';

// The layer rules of eslint.config.js (eslint.layers.js), run on code written here for each rule: each
// forbidden import or SQL string must be reported where the rule applies and not elsewhere.
const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...layerConfigs(root)],
  });
});

/** The rule ids reported for `code` as if it were the file at `path` (relative to the repository). */
async function reported(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}/${path}` });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the kernel imports no feature folder', () => {
  it.each([
    ['src/cache/x.ts', "import { findFlag } from '../flags/flag-store.js';"],
    ['src/auth/x.ts', "import type { TokenRecord } from '../users/token-store.js';"],
    ['src/serving/x.ts', "export { EvaluationBucket } from '../flag-metrics/evaluation-rollup-store.js';"],
    ['src/temporal/x.ts', "import { unknownFlag } from '../flags/unknown-flag.js';"],
    ['src/x.ts', "import { createFlagService } from './flags/flag-service.js';"],
    ['src/engine/operators/x.ts', "import { etagOf } from '../../serving/etag.js';"],
    ['src/domain/x.ts', "import { roleSchema } from '../auth/rbac.js';"],
    ['src/config.ts', "import { trustProxies } from './serving/client-address.js';"],
    ['src/cache/x.ts', "import { kill } from '../../workflows/kill-switch.js';"],
    ['src/flags/x.ts', "import { x } from '../../api/routes/flags.js';"],
  ])('%s: %s is reported', async (path, code) => {
    expect(await reported(path, code)).toEqual([expect.stringMatching(/^no-restricted-imports: /)]);
  });

  it.each([
    ['src/cache/x.ts', "import type { FlagDefinition } from '../domain/flag.js';"],
    ['src/cache/x.ts', "import type { KillSwitchWorkflow } from '../../workflows/kill-switch.js';"],
    ['src/engine/operators/x.ts', "import type { Flag } from '../../domain/flag.js';\nimport { path } from '../path.js';"],
    ['src/domain/x.ts', "import { text } from './text.js';"],
    ['src/config.ts', "import { trustProxies } from './config-parsers.js';\nimport type { LifecycleThresholds } from './domain/lifecycle.js';"],
    ['src/flags/x.ts', "import { findSegment } from '../segments/segment-store.js';\nimport { rolloutWorkflow } from '../../workflows/rollout.js';"],
    ['src/main/x.ts', "import { createApp } from '../../api/create-app.js';\nimport { tokenLookup } from '../users/token-store.js';"],
  ])('%s: %s is allowed', async (path, code) => {
    expect(await reported(path, code)).toEqual([]);
  });
});

describe('adapters import no store', () => {
  it.each([
    ['api/routes/x.ts', "import { findConfig } from '../../src/flags/flag-store.js';"],
    ['slack/x.ts', "import { setSlackMessage } from '../src/change-requests/change-request-store.js';"],
    ['activities/x.ts', "import type { RolloutState } from '../src/rollouts/rollout-store.js';"],
    ['slack/x.ts', "import { documentRoute } from '../api/route-docs.js';"],
  ])('%s: %s is reported', async (path, code) => {
    expect(await reported(path, code)).toEqual([expect.stringMatching(/^no-restricted-imports: /)]);
  });

  it('may call a feature\'s service', async () => {
    expect(await reported('api/routes/x.ts', "import { copiedConfig } from '../../src/flags/flag-service.js';")).toEqual([]);
  });
});

describe('only stores hold SQL', () => {
  const query = 'export const q = (db: any) => db.query(`SELECT id FROM flags WHERE key = $1`, ["k"]);';
  it.each(['src/flags/flag-service.ts', 'src/kill-switch/x.ts', 'api/routes/x.ts', 'activities/x.ts', 'src/main/x.ts', 'src/serving/x.ts'])(
    'SQL in %s is reported', async (path) => {
      expect(await reported(path, query)).toEqual([expect.stringMatching(/^no-restricted-syntax: SQL lives only/)]);
    },
  );

  it.each([
    "const q = 'DELETE FROM outbox WHERE id = $1';",
    'const q = `\n    WITH b AS (SELECT 1) INSERT INTO t SELECT * FROM b`;',
    "const q = 'UPDATE flags SET name = $2';",
  ])('finds %s outside a store', async (code) => {
    expect(await reported('src/flags/x.ts', code)).toHaveLength(1);
  });

  it.each(['src/flags/flag-store.ts', 'src/connections/database.ts'])('SQL in %s is allowed', async (path) => {
    expect(await reported(path, query)).toEqual([]);
  });

  it('prose that merely mentions SQL words is allowed', async () => {
    expect(await reported('src/flags/x.ts', "const m = 'Select a flag, then update it'; const n = `${1} SELECT`;")).toEqual([]);
  });
});

describe('workflows import no Node built-in', () => {
  // The hand-written list this replaces missed url, util, zlib, buffer and assert.
  it.each(['url', 'util', 'zlib', 'buffer', 'assert', 'node:zlib', 'fs/promises', 'crypto', 'pg', '@temporalio/activity'])('%s is reported', async (name) => {
    expect(await reported('workflows/x.ts', `import * as m from '${name}';\nexport const y = m;`)).toEqual([expect.stringMatching(/^no-restricted-imports: /)]);
  });

  it('@temporalio/workflow and the deterministic vocabulary are allowed', async () => {
    const code = "import { sleep } from '@temporalio/workflow';\nimport { describePlan } from '../src/domain/rollout-plan.js';\nimport type { ActivityDeps } from '../activities/activity-deps.js';\nexport { sleep, describePlan };";
    expect(await reported('workflows/x.ts', code)).toEqual([]);
  });
});
