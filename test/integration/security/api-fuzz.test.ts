import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironmentToken, createUser } from '../governance-helpers.js';
import { ADMIN_TOKEN, startStack, type Stack } from '../harness.js';
import { scratchDatabase } from '../scratch-db.js';
import { guardedRedisUrl } from '../test-target.js';

/**
 * Property-based fuzzing of the whole HTTP API from its own OpenAPI document, so the input checks
 * stay fixed: schemathesis (PyPI, pinned in scripts/python/fuzz-requirements.txt, installed into
 * .tools/venv-fuzz by ensure_schemathesis) generates valid and invalid requests for every operation
 * and checks that none answers 5xx, that every answer's status is documented, and that every body
 * matches its documented schema.
 *
 * The run is isolated: its API and worker use a database of their own, dropped afterwards, and the
 * worker's Redis index, emptied before and after (the wipe guard accepts only the test worker's), so
 * nothing it creates (a flag named `0`, a change policy, a webhook) is seen by the files that run
 * after it (a fuzzed flag once broke slack-boundary's "did you mean").
 *
 * Run it alone: `npm test -- test/integration/security/api-fuzz.test.ts`. Set FUZZ_EXAMPLES to
 * generate more cases per operation (the CI default keeps the file to a few minutes) and FUZZ_SEED=random
 * to leave the fixed seed.
 */

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
const WEBHOOK_URL = 'http://127.0.0.1:9/hook';
const HOOKS = join(root, 'test/integration/security/fuzz_hooks.py');

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

/** The fuzz run's own database. */
const scratch = scratchDatabase('ripcord_fuzz_test');
async function flushFuzzRedis(): Promise<void> {
  const redis = new Redis(guardedRedisUrl());
  try {
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}

let stack: Stack;
let work: string;
let clientToken: string;

/** Values that name real resources, so that generated requests reach more than 404s. */
let fixtures: { flag: string; segment: string; userId: string; tokenId: string; webhookId: string };

beforeAll(async () => {
  await scratch.createMigrated();
  await flushFuzzRedis();
  stack = await startStack({ DATABASE_URL: scratch.appUrl, MIGRATION_DATABASE_URL: scratch.ownerUrl });
  work = await mkdtemp(join(tmpdir(), 'ripcord-fuzz-'));
  const flag = 'fuzz-flag';
  expect((await stack.request('POST', '/api/v1/flags', { body: { key: flag, name: 'Fuzzed', type: 'boolean' } })).status).toBe(201);
  expect((await stack.request('POST', '/api/v1/segments', { body: { key: flag, kind: 'list', members: ['user-1'] } })).status).toBe(201);
  const user = await createUser(stack, 'editor');
  const webhook = await stack.request('POST', '/api/v1/webhooks', { body: { url: WEBHOOK_URL, events: ['flag.killed'] } });
  expect(webhook.status, JSON.stringify(webhook.body)).toBe(201);
  const client = await createEnvironmentToken(stack, 'client', 'production');
  clientToken = client.token;
  fixtures = { flag, segment: flag, userId: user.id, tokenId: user.tokenId, webhookId: webhook.body.id };
});

afterAll(async () => {
  if (stack) {
    // Proof that the hook held: no fuzzed webhook ever pointed anywhere else.
    const hooks = await stack.request('GET', '/api/v1/webhooks');
    expect(hooks.status).toBe(200);
    for (const hook of hooks.body.webhooks as Array<{ url: string }>) expect(hook.url).toBe(WEBHOOK_URL);
  }
  await stack?.close();
  await scratch.drop();
  await flushFuzzRedis();
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * The run's configuration. Generated path parameters name the fixtures most of the time (and a
 * random value otherwise), so operations on one flag, segment, user or webhook get past their 404.
 */
function config(): string {
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
async function fuzz(name: string, token: string, extra: string[]): Promise<{ report: FuzzReport; output: string }> {
  const configFile = join(work, `${name}.toml`);
  const reportFile = join(work, `${name}.json`);
  await writeFile(configFile, config());
  const args = [
    '--config-file', configFile, 'run', `${stack.api.url}/openapi.json`,
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
    execFile(SCHEMATHESIS, args, { cwd: work, timeout: RUN_BOUND_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
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

/** Escapes decodeURIComponent refuses: invalid bytes, a lone surrogate, overlong and out-of-range forms, truncated sequences, bad hex. */
const UNDECODABLE = ['%FF', '%ED%A0%80', '%C0%AF', '%E0%80%80', '%F0%80%80%AF', '%F8%88%80%80%80', '%F4%90%80%80', '%C3', '%E2%82', '%80', '%', '%G1', 'a%2', `rc_trigger_${'A'.repeat(43)}%FF`];
/** Escapes that decode, to characters no text field takes: NUL, and NUL inside a plausible value. */
const DECODABLE_BUT_BAD = ['%00', 'fuzz%00flag'];

interface OpenApiOperation { parameters?: Array<{ name: string; in: string }>; responses: Record<string, unknown> }
type OpenApiDocument = { paths: Record<string, Record<string, OpenApiOperation>> };

/** Every operation of the document with its method, path template and parameters of one location. */
function operationsOf(doc: OpenApiDocument, location: 'path' | 'query') {
  return Object.entries(doc.paths).flatMap(([template, methods]) => Object.entries(methods)
    .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
    .map(([method, operation]) => ({ template, method, operation, names: (operation.parameters ?? []).filter((p) => p.in === location).map((p) => p.name) }))
    .filter(({ names }) => names.length > 0));
}

describe('percent-escapes in every path and query parameter of /openapi.json (a deterministic sweep)', () => {
  /** A value for a path parameter that is not under test: the fixtures, so the request gets past other checks. */
  const valueOf = (name: string): string => ({ key: fixtures.flag, env: 'production', id: fixtures.webhookId, member: 'user-1', name: 'fuzz', secret: `rc_trigger_${'A'.repeat(43)}` } as Record<string, string>)[name] ?? 'fuzz';
  const send = async (method: string, path: string) => {
    const response = await fetch(`${stack.api.url}${path}`, {
      method: method.toUpperCase(), headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: method === 'get' || method === 'delete' ? undefined : '{}',
    });
    const text = await response.text();
    let body: { error?: { details?: Array<{ path: string }> }; errorDetails?: string } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, body, text };
  };

  it('undecodable escapes and overlong/invalid UTF-8 in a path parameter: a documented 400 naming it, never a 5xx; NUL: a documented 4xx', async () => {
    const doc = (await stack.request('GET', '/openapi.json')).body as OpenApiDocument;
    const operations = operationsOf(doc, 'path');
    expect(operations.length).toBeGreaterThanOrEqual(40);
    const failures: string[] = [];
    let sent = 0;
    for (const { template, method, operation, names } of operations) {
      for (const name of names) {
        for (const bad of [...UNDECODABLE, ...DECODABLE_BUT_BAD]) {
          const path = template.replace(/\{(\w+)\}/g, (_all, param: string) => (param === name ? bad : encodeURIComponent(valueOf(param))));
          const { status, body, text } = await send(method, path);
          sent += 1;
          const where = `${method.toUpperCase()} ${path} → ${status} ${text.slice(0, 200)}`;
          if (status >= 500) failures.push(where);
          else if (!(String(status) in operation.responses)) failures.push(`${where} (undocumented status)`);
          else if (UNDECODABLE.includes(bad)) {
            const named = body?.error?.details?.some((d) => d.path === `params.${name}`) || body?.errorDetails?.includes(`'${name}'`);
            if (status !== 400 || !named) failures.push(`${where} (expected a 400 naming ${name})`);
            if (text.includes('rc_trigger_')) failures.push(`${where} (the value came back)`);
          } else if (status < 400) failures.push(`${where} (NUL accepted)`);
        }
      }
    }
    console.log(`[api-fuzz] path escapes: ${sent} requests over ${operations.length} operations`);
    expect(failures).toEqual([]);
  });

  it('undecodable escapes and NUL in every query parameter: never a 5xx, only documented statuses', async () => {
    const doc = (await stack.request('GET', '/openapi.json')).body as OpenApiDocument;
    const operations = operationsOf(doc, 'query');
    expect(operations.length).toBeGreaterThanOrEqual(10);
    const failures: string[] = [];
    for (const { template, method, operation, names } of operations) {
      // Streams answer until the client goes: their query parameters are credentials checked before the stream opens.
      const path = template.replace(/\{(\w+)\}/g, (_all, param: string) => encodeURIComponent(valueOf(param)));
      for (const name of names) {
        for (const bad of ['%FF', '%ED%A0%80', '%C0%AF', '%', '%00', 'x%00y']) {
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), 5_000);
          try {
            const response = await fetch(`${stack.api.url}${path}?${name}=${bad}`, {
              method: method.toUpperCase(), signal: controller.signal,
              headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: method === 'get' || method === 'delete' ? undefined : '{}',
            });
            const status = response.status;
            await response.body?.cancel();
            if (status >= 500) failures.push(`${method.toUpperCase()} ${path}?${name}=${bad} → ${status}`);
            else if (!(String(status) in operation.responses)) failures.push(`${method.toUpperCase()} ${path}?${name}=${bad} → ${status} (undocumented status)`);
          } finally {
            clearTimeout(timer);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('API fuzzing from /openapi.json (schemathesis)', () => {
  it('every operation, as the bootstrap admin: no 5xx, only documented statuses, bodies match their schemas', { timeout: RUN_BOUND_MS + 60_000 }, async () => {
    // The bootstrap admin token comes from the environment and has no row, so no generated
    // request (revocation, deactivation) can take it away mid-run.
    const run = await fuzz('admin', ADMIN_TOKEN, []);
    expect(run.report.operations.selected).toBeGreaterThanOrEqual(60);
    expectClean(run);
  });

  it('the evaluation and SDK operations, as a client token', { timeout: RUN_BOUND_MS + 60_000 }, async () => {
    const run = await fuzz('client', clientToken, CLIENT_TAGS.flatMap((tag) => ['--include-tag', tag]));
    expect(run.report.operations.selected).toBeGreaterThanOrEqual(8);
    expectClean(run);
  });
});
