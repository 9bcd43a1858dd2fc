import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init as initLaunchDarkly, integrations, type LDClient } from '@launchdarkly/node-server-sdk';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../../packages/node/src/flags-as-code/command.js';
import { runCli } from '../../packages/node/src/typegen/cli.js';
import { FlagdClientProcess } from './flagd/flagd-clients.js';
import { createUser, type TestUser } from './governance-helpers.js';
import { eventually, startStack, type Stack } from './harness.js';
import { scratchDatabase } from './scratch-db.js';
import { guardedRedisUrl } from './test-target.js';
import { createToken } from './serving-helpers.js';

/**
 * The importers against the real tools: each source's own evaluator, on the very file the importer
 * read, agrees with Ripcord (its OFREP answers after `ripcord import … --auto-approve`) for 1,000
 * users on every flag the importer says keeps its cohorts.
 * - flagd: OpenFeature's flagd provider for Python, in-process with its FILE resolver (flagd-core
 *   1.0.0, pinned in test/integration/flagd/requirements.txt);
 * - LaunchDarkly: @launchdarkly/node-server-sdk offline, reading the flags through its file data source.
 * A database of its own, so that the environment holds only the imported flags.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, 'test-artifacts', 'import');
const PYTHON = `${root}/.tools/venv-flagd/bin/python`;
const scratch = scratchDatabase('ripcord_import_test');
// The file's own Redis index (the test worker's), flushed only through the wipe guard.
const redisUrl = guardedRedisUrl();
const USERS = 1000;

let stack: Stack;
let editor: TestUser;
let clientToken: string;

interface Run { code: number; out: string; err: string }

async function ripcord(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = {
    env: { RIPCORD_URL: stack.api.url, RIPCORD_TOKEN: editor.token },
    fetch: globalThis.fetch,
    writeFile: async (path, text) => writeFileSync(path, text),
    readFile: async (path) => readFileSync(path, 'utf8'),
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface Served { value: unknown; variant?: string }

/** Ripcord's OFREP bulk answers for each context, for the given keys (after the snapshot serves them all). */
async function ripcordAnswers(keys: readonly string[], contexts: ReadonlyArray<Record<string, unknown>>): Promise<Map<string, Served[]>> {
  const bulk = async (context: Record<string, unknown>) => {
    const answer = await stack.request('POST', '/ofrep/v1/evaluate/flags', { body: { context }, token: clientToken });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return new Map((answer.body.flags as Array<{ key: string; value: unknown; variant?: string }>).map((f) => [f.key, { value: f.value, variant: f.variant }]));
  };
  await eventually(async () => {
    const served = await bulk(contexts[0]!);
    return keys.every((k) => served.has(k));
  }, 'the snapshot to serve the imported flags');
  const answers = new Map<string, Served[]>(keys.map((k) => [k, []]));
  for (const context of contexts) {
    const served = await bulk(context);
    for (const key of keys) answers.get(key)!.push(served.get(key) ?? { value: undefined, variant: 'missing' });
  }
  return answers;
}

/** Keys the report says map, by cohorts verdict: `✓ key: maps; keeps its cohorts …` / `cohorts will change`. */
function reported(out: string): { kept: string[]; changed: string[]; unmapped: string[] } {
  const kept = [...out.matchAll(/✓ (\S+): maps; keeps its cohorts/g)].map((m) => m[1]!);
  const changed = [...out.matchAll(/✓ (\S+): maps; cohorts will change/g)].map((m) => m[1]!);
  const unmapped = [...out.matchAll(/✗ (\S+): can't be imported/g)].map((m) => m[1]!);
  return { kept, changed, unmapped };
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  await scratch.createMigrated();
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  stack = await startStack({ DATABASE_URL: scratch.appUrl, MIGRATION_DATABASE_URL: scratch.ownerUrl, REDIS_URL: redisUrl, MAX_SNAPSHOT_LAG_SECONDS: '60' }, { worker: false });
  editor = await createUser(stack, 'editor');
  clientToken = await createToken(stack.db, 'client', 'production');
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await scratch.drop();
});

describe('ripcord import flagd, against flagd’s Python provider in-process on the same file', () => {
  let python: FlagdClientProcess | undefined;
  afterAll(() => python?.close());

  it('agrees for 1,000 users on every flag it says keeps its cohorts', async () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: npm test installs it (ensure_flagd_python in scripts/stack-lib.sh)`);
    const document = {
      $schema: 'https://flagd.dev/schema/v0/flags.json',
      $evaluators: { staff: { ends_with: [{ var: 'email' }, '@corp.com'] } },
      flags: {
        'checkout-flow': { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', targeting: { if: [{ '==': [{ var: 'tier' }, 'vip'] }, 'on', { fractional: [['on', 50], ['off', 50]] }] } },
        layout: {
          state: 'ENABLED', variants: { list: 'list', grid: 'grid', dense: 'dense' }, defaultVariant: 'list',
          targeting: { if: [{ or: [{ $ref: 'staff' }, { in: [{ var: 'tier' }, ['gold', 'vip']] }] }, { fractional: [['grid', 1], ['dense', 3]] }, { '===': [{ var: 'beta' }, true] }, 'dense', null] },
        },
        banner: { state: 'ENABLED', variants: { a: 'A', b: 'B', c: 'C' }, defaultVariant: 'a', targeting: { fractional: [['a', 1], ['b', 1], ['c', 2]] } },
        limit: { state: 'ENABLED', variants: { high: 100, low: 10 }, defaultVariant: 'low', targeting: { if: [{ sem_ver: [{ var: 'version' }, '>', '2.0.0'] }, 'high', 'low'] } },
        theme: { state: 'ENABLED', variants: { dark: { bg: '#000' }, light: { bg: '#fff' } }, defaultVariant: 'light', targeting: { if: [{ starts_with: [{ var: 'email' }, 'admin'] }, 'dark', null] } },
        thirds: { state: 'ENABLED', variants: { x: 'x', y: 'y' }, defaultVariant: 'x', targeting: { fractional: [['x', 1], ['y', 2]] } },
        timed: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', targeting: { if: [{ '>': [{ var: '$flagd.timestamp' }, 1700000000] }, 'on', 'off'] } },
      },
    };
    const path = join(dir, 'flagd.json');
    writeFileSync(path, JSON.stringify(document, null, 2));

    const dryRun = await ripcord(['import', 'flagd', '--file', path, '--environment', 'production', '--dry-run']);
    expect(dryRun.code, dryRun.out + dryRun.err).toBe(0);
    const verdicts = reported(dryRun.out);
    expect(verdicts).toEqual({ kept: ['banner', 'checkout-flow', 'layout', 'limit', 'theme'], changed: ['thirds'], unmapped: ['timed'] });
    expect(dryRun.out).toMatch(/timed: can't be imported\n\s+can't map: \$flagd\.timestamp/);
    expect(dryRun.out).toContain('Dry run: nothing was written.');

    const imported = await ripcord(['import', 'flagd', '--file', path, '--environment', 'production', '--auto-approve']);
    expect(imported.code, imported.out + imported.err).toBe(0);
    expect(imported.out).toContain('Applied 6, requested 0, conflicts 0, failed 0, skipped 0.');

    python = new FlagdClientProcess(PYTHON, [`${root}/test/integration/flagd/flagd_client.py`]);
    expect((await python.call<{ connected: boolean }>({ op: 'file', path }, 30_000)).connected).toBe(true);
    const contexts = Array.from({ length: USERS }, (_, i) => ({
      targetingKey: `user-${i}`, email: i % 7 === 0 ? `admin-${i}@corp.com` : `user-${i}@mail.com`,
      tier: ['free', 'gold', 'vip', 'pro'][i % 4], beta: i % 5 === 0, version: `${i % 4}.${i % 3}.0`,
    }));
    const types: Record<string, string> = { 'checkout-flow': 'boolean', layout: 'string', banner: 'string', limit: 'number', theme: 'json', thirds: 'string' };
    const keys = [...verdicts.kept, ...verdicts.changed];
    const items = keys.flatMap((key) => contexts.map((context) => ({ key, type: types[key], context })));
    const { answers } = await python.call<{ answers: Array<{ value?: unknown; variant?: string }> }>({ op: 'evaluate', items }, 120_000);
    const ours = await ripcordAnswers(keys, contexts);
    const disagreements = new Map<string, number>();
    keys.forEach((key, k) => contexts.forEach((_, u) => {
      const flagd = answers[k * contexts.length + u]!;
      const mine = ours.get(key)![u]!;
      if (JSON.stringify(flagd.value) !== JSON.stringify(mine.value) || flagd.variant !== mine.variant) disagreements.set(key, (disagreements.get(key) ?? 0) + 1);
    }));
    console.log(`[import] flagd Python provider vs Ripcord, ${USERS} users: ${keys.map((k) => `${k} ${USERS - (disagreements.get(k) ?? 0)}/${USERS}`).join(', ')}`);
    expect(verdicts.kept.filter((k) => disagreements.has(k))).toEqual([]);
    // The fractional flags split users as flagd does: not everyone lands in one slice.
    expect(new Set(ours.get('banner')!.map((a) => a.variant)).size).toBe(3);
  }, 300_000);
});

describe('ripcord import launchdarkly, against @launchdarkly/node-server-sdk offline on the same file', () => {
  let ld: LDClient | undefined;
  afterAll(() => ld?.close());

  const flag = (key: string, rest: Record<string, unknown>) => ({
    key, version: 1, deleted: false, on: true, salt: `${key}-salt`, targets: [], contextTargets: [], rules: [], prerequisites: [],
    trackEvents: false, trackEventsFallthrough: false, clientSide: false, debugEventsUntilDate: null, offVariation: 0, fallthrough: { variation: 0 }, ...rest,
  });

  it('agrees for 1,000 users on every flag it says keeps its cohorts', async () => {
    const data = {
      flags: {
        'ld-pricing': flag('ld-pricing', {
          variations: ['a', 'b', 'c'], fallthrough: { variation: 1 },
          targets: [{ values: ['user-1', 'user-2'], variation: 2 }],
          rules: [{ id: 'nordics', clauses: [{ attribute: 'country', op: 'in', values: ['NO', 'SE'], negate: false }, { attribute: 'email', op: 'endsWith', values: ['@a.com', '@b.com'], negate: false }], variation: 0 }],
        }),
        'ld-beta': flag('ld-beta', { on: false, variations: [true, false], offVariation: 1 }),
        'ld-limit': flag('ld-limit', {
          variations: [10, 100],
          rules: [
            { id: 'new-app', clauses: [{ attribute: 'version', op: 'semVerGreaterThan', values: ['2.0.0'], negate: false }], variation: 1 },
            { id: 'high-score', clauses: [{ attribute: 'score', op: 'greaterThan', values: [50], negate: false }, { attribute: 'country', op: 'in', values: ['NO'], negate: true }], variation: 1 },
          ],
        }),
        'ld-rollout': flag('ld-rollout', { variations: [true, false], fallthrough: { rollout: { variations: [{ variation: 0, weight: 30000 }, { variation: 1, weight: 70000 }] } } }),
        'ld-prereq': flag('ld-prereq', { variations: [true, false], prerequisites: [{ key: 'ld-beta', variation: 0 }] }),
      },
      segments: {},
    };
    const path = join(dir, 'launchdarkly.json');
    writeFileSync(path, JSON.stringify(data, null, 2));

    const imported = await ripcord(['import', 'launchdarkly', '--file', path, '--environment', 'production', '--auto-approve']);
    expect(imported.code, imported.out + imported.err).toBe(0);
    const verdicts = reported(imported.out);
    expect(verdicts).toEqual({ kept: ['ld-beta', 'ld-limit', 'ld-pricing'], changed: ['ld-rollout'], unmapped: ['ld-prereq'] });
    expect(imported.out).toMatch(/ld-prereq: can't be imported\n\s+can't map: prerequisites \(ld-beta\)/);

    const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    ld = initLaunchDarkly('sdk-offline-import-test', {
      updateProcessor: new integrations.FileDataSourceFactory({ paths: [path] }).getFactory(), sendEvents: false, diagnosticOptOut: true, logger: silent,
    });
    await ld.waitForInitialization({ timeout: 10 });
    const contexts = Array.from({ length: USERS }, (_, i) => ({
      targetingKey: `user-${i}`, country: ['NO', 'SE', 'DK', 'FI'][i % 4], email: `u${i}@${['a.com', 'b.com', 'c.com'][i % 3]}`,
      version: `${i % 4}.${i % 5}.${i % 2}`, score: i % 100,
    }));
    const keys = [...verdicts.kept, ...verdicts.changed];
    const ours = await ripcordAnswers(keys, contexts);
    const disagreements = new Map<string, number>();
    for (const key of keys) {
      for (const [u, { targetingKey, ...attributes }] of contexts.entries()) {
        const theirs = await ld.variation(key, { kind: 'user', key: targetingKey, ...attributes }, null);
        if (JSON.stringify(theirs) !== JSON.stringify(ours.get(key)![u]!.value)) disagreements.set(key, (disagreements.get(key) ?? 0) + 1);
      }
    }
    console.log(`[import] LaunchDarkly SDK vs Ripcord, ${USERS} users: ${keys.map((k) => `${k} ${USERS - (disagreements.get(k) ?? 0)}/${USERS}`).join(', ')}`);
    expect(verdicts.kept.filter((k) => disagreements.has(k))).toEqual([]);
    // The rollout keeps its share (30 % true in both, within sampling) but not its users.
    const share = ours.get('ld-rollout')!.filter((a) => a.value === true).length / USERS;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
    expect(disagreements.get('ld-rollout')).toBeGreaterThan(0);
  }, 300_000);
});
