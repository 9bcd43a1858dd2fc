/**
 * Property-based fuzzing of the whole HTTP API from its own OpenAPI document: schemathesis (PyPI,
 * pinned in scripts/python/fuzz-requirements.txt, installed into .tools/venv-fuzz by
 * ensure_schemathesis) generates valid and invalid requests for every operation and checks that none
 * answers 5xx, that every answer's status is documented, and that every body matches its documented
 * schema.
 *
 * The operations are fuzzed in parts, one test file each (api-fuzz-*.test.ts), so the parallel test
 * workers share the work: ADMIN_PARTS by tag, the last part taking every operation the others leave
 * (so every operation is fuzzed as the admin whatever tags the document gains); the client token's
 * operations run beside the deterministic percent-escape sweeps. Each file runs against its own API and worker on the file's own database and
 * Redis index (test/integration/worker-setup.ts), so nothing it creates (a flag named `0`, a change
 * policy, a webhook) is seen by another file.
 *
 * Run them alone: `npm test -- test/integration/security/api-fuzz`. Set FUZZ_EXAMPLES to generate
 * more cases per operation (the CI default keeps each file to a minute or two) and FUZZ_SEED=random
 * to leave the fixed seed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironmentToken, createUser } from '../governance-helpers.js';
import { ADMIN_TOKEN, startStack, type Stack } from '../harness.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const SCHEMATHESIS = join(root, '.tools/venv-fuzz/bin/schemathesis');
/** Cases per operation and phase: bounded so that CI stays within its budget. */
const EXAMPLES = Number(process.env.FUZZ_EXAMPLES ?? 10);
/** Hang guard for one schemathesis run: far above a run with the defaults, even on a machine shared and loaded. */
const RUN_BOUND_MS = 15 * 60_000;
/** A fixed seed keeps CI's runs alike; FUZZ_SEED=random explores new cases (the report prints the seed). */
const SEED = process.env.FUZZ_SEED ?? '20261128';
const CHECKS = 'not_a_server_error,status_code_conformance,response_schema_conformance';
/** The operations a client token (the kind shipped to browsers) may call: it gets its own pass. */
const CLIENT_TAGS = ['Evaluation', 'SDK'];
/** A closed port on loopback: the only place a fuzzed webhook may point (fuzz_hooks.py rewrites every generated URL to it). */
export const WEBHOOK_URL = 'http://127.0.0.1:9/hook';
const HOOKS = join(root, 'test/integration/security/fuzz_hooks.py');

/**
 * The admin run's parts, by OpenAPI tag, with the fewest operations each must select (a renamed tag
 * fails its part instead of fuzzing nothing). `rest` has no tags: it excludes the others' and so
 * takes every remaining operation, untagged ones included.
 */
export const ADMIN_PARTS = {
  'flags-and-access': { tags: ['Flags', 'Kill switch', 'Scheduled changes', 'Dashboard', 'Users', 'Tokens', 'Segments', 'Webhooks', 'Audit'], minOperations: 40 },
  rest: { tags: null, minOperations: 35 },
} as const satisfies Record<string, { tags: readonly string[] | null; minOperations: number }>;
export type AdminPart = keyof typeof ADMIN_PARTS;

/** The figures schemathesis writes in its JSON report. */
interface FuzzReport {
  seed: string | number;
  operations: { total: number; selected: number; tested: number; errored: number };
  test_cases: { generated: number; with_failures: number; unique_failures: number; errored: number };
  running_time: number;
  warnings: { validation_mismatch: string[]; missing_test_data: string[] };
  failures: unknown;
  errors: unknown;
}

/** Values that name real resources, so that generated requests reach more than 404s. */
export interface FuzzFixtures { flag: string; segment: string; userId: string; tokenId: string; webhookId: string }

export interface FuzzTarget {
  stack: Stack;
  fixtures: FuzzFixtures;
  clientToken: string;
  work: string;
}

/**
 * The file's API and worker, with a flag, a segment, a user and a webhook to aim at, and a client
 * token; registered as the file's beforeAll/afterAll. The getter is valid inside tests.
 */
export function useFuzzTarget(): () => FuzzTarget {
  let target: FuzzTarget | undefined;
  let stack: Stack | undefined;
  let work: string | undefined;
  beforeAll(async () => {
    stack = await startStack();
    work = await mkdtemp(join(tmpdir(), 'ripcord-fuzz-'));
    const flag = 'fuzz-flag';
    expect((await stack.request('POST', '/api/v1/flags', { body: { key: flag, name: 'Fuzzed', type: 'boolean' } })).status).toBe(201);
    expect((await stack.request('POST', '/api/v1/segments', { body: { key: flag, kind: 'list', members: ['user-1'] } })).status).toBe(201);
    const user = await createUser(stack, 'editor');
    const webhook = await stack.request('POST', '/api/v1/webhooks', { body: { url: WEBHOOK_URL, events: ['flag.killed'] } });
    expect(webhook.status, JSON.stringify(webhook.body)).toBe(201);
    const client = await createEnvironmentToken(stack, 'client', 'production');
    target = { stack, work, clientToken: client.token, fixtures: { flag, segment: flag, userId: user.id, tokenId: user.tokenId, webhookId: webhook.body.id } };
  });
  afterAll(async () => {
    if (stack) {
      // Proof that the hook held: no fuzzed webhook ever pointed anywhere else.
      const hooks = await stack.request('GET', '/api/v1/webhooks');
      expect(hooks.status).toBe(200);
      for (const hook of hooks.body.webhooks as Array<{ url: string }>) expect(hook.url).toBe(WEBHOOK_URL);
    }
    await stack?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });
  return () => {
    if (!target) throw new Error('the fuzz target is set up in beforeAll');
    return target;
  };
}

/**
 * The run's configuration. Generated path parameters name the fixtures most of the time (and a
 * random value otherwise), so operations on one flag, segment, user or webhook get past their 404.
 */
function config(fixtures: FuzzFixtures): string {
  const list = (values: string[]) => `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
  return [
    // A stream answers until the client goes: one event (or the request timeout) ends the case.
    'max-stream-events = 1',
    // Points every generated webhook URL at WEBHOOK_URL: deliveries must never leave this machine.
    `hooks = ${JSON.stringify(HOOKS)}`,
    '[dictionaries.keys]', `values = ${list([fixtures.flag])}`,
    '[dictionaries.environments]', `values = ${list(['production', 'staging', 'development'])}`,
    '[dictionaries.ids]', `values = ${list([fixtures.userId, fixtures.tokenId, fixtures.webhookId])}`,
    '[parameters]',
    '"path.key" = { dictionary = "keys", probability = 0.7 }',
    '"path.env" = { dictionary = "environments", probability = 0.9 }',
    '"path.id" = { dictionary = "ids", probability = 0.7 }',
    '"header.X-Environment" = { dictionary = "environments", probability = 0.9 }',
    '"body.environment" = { dictionary = "environments", probability = 0.9 }',
    '"body.environments[*]" = { dictionary = "environments", probability = 0.9 }',
  ].join('\n');
}

/** One schemathesis run against the live API; resolves with its JSON report and console output. */
async function fuzz(target: FuzzTarget, name: string, token: string, extra: string[]): Promise<{ report: FuzzReport; output: string }> {
  const configFile = join(target.work, `${name}.toml`);
  const reportFile = join(target.work, `${name}.json`);
  await writeFile(configFile, config(target.fixtures));
  const args = [
    '--config-file', configFile, 'run', `${target.stack.api.url}/openapi.json`,
    '--header', `Authorization: Bearer ${token}`,
    '--checks', CHECKS,
    '--max-examples', String(EXAMPLES),
    '--workers', '2',
    // Generous: on a loaded machine a kill or a rollout start can take seconds; a timeout counts as an error.
    '--request-timeout', '60',
    ...(SEED === 'random' ? [] : ['--seed', SEED]),
    '--generation-database', 'none',
    '--no-color',
    '--report', 'json', '--report-json-path', reportFile,
    ...extra,
  ];
  const output = await new Promise<string>((resolve, reject) => {
    // Exit code 1 means failures were found: the report says which, and the test asserts on it.
    execFile(SCHEMATHESIS, args, { cwd: target.work, timeout: RUN_BOUND_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && error.code !== 1) reject(new Error(`schemathesis ${name} failed (${error.code ?? error.signal}): ${stderr}\n${stdout.slice(-4000)}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
  const report = JSON.parse(await readFile(reportFile, 'utf8')) as FuzzReport;
  const t = report.test_cases;
  console.log(
    `[api-fuzz] ${name}: ${report.operations.tested}/${report.operations.selected} operations, ${t.generated} cases, ` +
      `${report.running_time.toFixed(1)} s, ${t.with_failures} cases failed (${t.unique_failures} unique failures, ${t.errored} errored), ` +
      `${report.warnings.validation_mismatch.length} operations reject most generated data, seed ${report.seed}`,
  );
  return { report, output };
}

/** Asserts a run covered every operation it selected and found nothing; on failure, shows schemathesis's account. */
function expectClean({ report, output }: { report: FuzzReport; output: string }): void {
  const failuresSection = output.slice(output.indexOf('FAILURES'), output.indexOf('SUMMARY'));
  expect(report.operations.tested, 'every selected operation was tested').toBe(report.operations.selected);
  expect(report.operations.errored, output.slice(-4000)).toBe(0);
  expect(report.test_cases.errored, output.slice(-4000)).toBe(0);
  expect(report.test_cases.with_failures, failuresSection.slice(0, 20_000)).toBe(0);
}

/** schemathesis's filter for an admin part: its tags, or for `rest` every tag of the other parts excluded. */
export function adminPartFilter(part: AdminPart): string[] {
  const tags = ADMIN_PARTS[part].tags;
  if (tags) return tags.flatMap((tag) => ['--include-tag', tag]);
  return Object.values(ADMIN_PARTS).flatMap((other) => other.tags ?? []).flatMap((tag) => ['--exclude-tag', tag]);
}

/** The test of one admin part: every operation it selects, as the bootstrap admin. */
export function fuzzAdminPart(part: AdminPart): void {
  const target = useFuzzTarget();
  const { tags, minOperations } = ADMIN_PARTS[part];
  const which = tags ? tags.join(', ') : 'every operation the other parts leave';
  describe(`API fuzzing from /openapi.json (schemathesis), as the bootstrap admin: ${part}`, () => {
    it(`${which}: no 5xx, only documented statuses, bodies match their schemas`, { timeout: RUN_BOUND_MS + 60_000 }, async () => {
      // The bootstrap admin token comes from the environment and has no row, so no generated
      // request (revocation, deactivation) can take it away mid-run.
      const run = await fuzz(target(), `admin-${part}`, ADMIN_TOKEN, adminPartFilter(part));
      expect(run.report.operations.selected).toBeGreaterThanOrEqual(minOperations);
      expectClean(run);
    });
  });
}

/** The test of the client token's pass: the evaluation and SDK operations, on the file's target. */
export function fuzzClientOperations(target: () => FuzzTarget): void {
  describe('API fuzzing from /openapi.json (schemathesis), as a client token', () => {
    it('the evaluation and SDK operations: no 5xx, only documented statuses, bodies match their schemas', { timeout: RUN_BOUND_MS + 60_000 }, async () => {
      const run = await fuzz(target(), 'client', target().clientToken, CLIENT_TAGS.flatMap((tag) => ['--include-tag', tag]));
      expect(run.report.operations.selected).toBeGreaterThanOrEqual(8);
      expectClean(run);
    });
  });
}
