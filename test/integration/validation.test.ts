import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { routeDocs, type RouteDoc } from '../../api/route-docs.js';
import { startStack, uniqueKey, type Stack } from './harness.js';
import { createEnvironmentToken, createFlag, createUser } from './governance-helpers.js';

/**
 * Every management route, every path parameter, query field and body field: a value its zod schema
 * refuses is sent, and the answer must be a 400 naming that field (never a 500, never a silent accept).
 * The cases are generated from the same schemas the routes parse with.
 */

let stack: Stack;
const fixtures: Record<string, string> = {};
beforeAll(async () => {
  stack = await startStack();
  fixtures.flag = await createFlag(stack, 'valid');
  fixtures.segment = uniqueKey('valid-seg');
  expect((await stack.request('POST', '/api/v1/segments', { body: { key: fixtures.segment, kind: 'list', members: ['m1'] } })).status).toBe(201);
  fixtures.user = (await createUser(stack, 'viewer')).id;
  fixtures.token = (await createEnvironmentToken(stack, 'client', 'development')).id;
  const hook = await stack.request('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/hook', events: ['flag.killed'] } });
  expect(hook.status).toBe(201);
  fixtures.webhook = hook.body.id;
});
afterAll(async () => {
  // A webhook left enabled would get a delivery (and a workflow) for every kill of the files after this one.
  if (stack && fixtures.webhook) expect((await stack.request('DELETE', `/api/v1/webhooks/${fixtures.webhook}`)).status).toBe(204);
  await stack?.close();
});

const STRING_CANDIDATES: string[] = ['!! bad value !!', 'x'.repeat(600), 'abc', '-1', '0', '999999999999'];
const BODY_CANDIDATES: unknown[] = [12345, '!! bad value !!', 'x'.repeat(600), -1, true, [], {}, null, ''];
/** Every route under /api/v1: flags, configs, kill switch, rollouts, scheduled changes, metrics, segments, users, tokens, audit, webhooks, events, evaluation. */
const managementRoutes = () => routeDocs().filter((doc) => doc.path.startsWith('/api/v1/'));

/** The first candidate the schema refuses, or undefined when it accepts all of them. */
function refused<T>(schema: z.ZodType, candidates: T[]): T | undefined {
  return candidates.find((candidate) => !schema.safeParse(candidate).success);
}

/** A valid value for each path parameter of a route. */
function validParams(doc: RouteDoc): Record<string, string> {
  const onSegments = doc.path.startsWith('/api/v1/segments');
  const onTokens = doc.path.startsWith('/api/v1/tokens');
  const onWebhooks = doc.path.startsWith('/api/v1/webhooks');
  const onScheduled = doc.path.includes('/scheduled-changes/');
  return {
    key: onSegments ? fixtures.segment! : fixtures.flag!,
    env: 'staging',
    id: onTokens ? fixtures.token! : onWebhooks ? fixtures.webhook! : onScheduled ? '00000000-0000-4000-8000-000000000000' : fixtures.user!,
    member: 'm1',
    action: 'pause',
  };
}

const pathOf = (doc: RouteDoc, params: Record<string, string>) =>
  doc.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]!));

interface Case {
  name: string;
  doc: RouteDoc;
  params: Record<string, string>;
  query?: string;
  body?: unknown;
  expectPath: string;
}

function casesFor(doc: RouteDoc): Case[] {
  const cases: Case[] = [];
  const params = validParams(doc);
  for (const [name, schema] of Object.entries(doc.params?.shape ?? {})) {
    const bad = refused(schema as z.ZodType, STRING_CANDIDATES);
    if (bad !== undefined) cases.push({ name: `params.${name} = ${JSON.stringify(bad).slice(0, 20)}`, doc, params: { ...params, [name]: bad }, expectPath: `params.${name}` });
  }
  for (const [name, schema] of Object.entries(doc.query?.shape ?? {})) {
    const bad = refused(schema as z.ZodType, STRING_CANDIDATES);
    if (bad !== undefined) cases.push({ name: `query.${name} = ${JSON.stringify(bad).slice(0, 20)}`, doc, params, query: new URLSearchParams({ [name]: bad }).toString(), expectPath: `query.${name}` });
  }
  if (doc.query) cases.push({ name: 'an unknown query field', doc, params, query: 'no_such_field=1', expectPath: 'query' });
  const body = doc.body as (z.ZodType & { shape?: Record<string, z.ZodType>; options?: Array<{ shape: Record<string, z.ZodType> }>; unwrap?: () => z.ZodType }) | undefined;
  if (body) {
    // Unions: each option with its discriminator set, so the field itself is what fails.
    const unwrapped = (body.unwrap?.() ?? body) as typeof body;
    const options = unwrapped.options ?? (unwrapped.shape ? [{ shape: unwrapped.shape }] : []);
    for (const option of options) {
      const kind = (option.shape.kind as { value?: unknown } | undefined)?.value;
      const base = kind === undefined ? {} : { kind };
      for (const [name, schema] of Object.entries(option.shape)) {
        if (name === 'kind' && kind !== undefined) continue;
        const bad = refused(schema, BODY_CANDIDATES);
        if (bad !== undefined) cases.push({ name: `body.${name} = ${JSON.stringify(bad).slice(0, 20)}`, doc, params, body: { ...base, [name]: bad }, expectPath: `body.${name}` });
      }
    }
  }
  return cases;
}

describe('invalid input, generated from the zod schemas', () => {
  it('covers every management route: each one that takes input gets bad-input cases', () => {
    const docs = managementRoutes();
    const paths = new Set(docs.map((doc) => doc.path));
    for (const path of [
      '/api/v1/flags/{key}/environments/{env}/rollouts', '/api/v1/flags/{key}/environments/{env}/rollouts/current/abort',
      '/api/v1/flags/{key}/environments/{env}/scheduled-changes', '/api/v1/flags/{key}/environments/{env}/scheduled-changes/{id}',
      '/api/v1/flags/{key}/metrics', '/api/v1/webhooks', '/api/v1/webhooks/{id}', '/api/v1/webhooks/{id}/deliveries', '/api/v1/events',
    ]) expect(paths, path).toContain(path);
    const withInput = docs.filter((doc) => doc.params || doc.query || doc.body);
    expect(withInput.filter((doc) => casesFor(doc).length === 0).map((doc) => `${doc.method} ${doc.path}`)).toEqual([]);
    expect(docs.flatMap(casesFor).length).toBeGreaterThan(100);
  });

  it('answers 400 naming the field for every bad id, query field and body field', async () => {
    const docs = managementRoutes();
    const failures: string[] = [];
    for (const testCase of docs.flatMap(casesFor)) {
      const url = `${pathOf(testCase.doc, testCase.params)}${testCase.query ? `?${testCase.query}` : ''}`;
      const response = await stack.request(testCase.doc.method.toUpperCase(), url, { body: testCase.body });
      const paths: string[] = (response.body?.error?.details ?? []).map((d: { path: string }) => d.path);
      const named = paths.some((p) => p === testCase.expectPath || p.startsWith(`${testCase.expectPath}.`));
      if (response.status !== 400 || !named) {
        failures.push(`${testCase.doc.method.toUpperCase()} ${testCase.doc.path} ${testCase.name}: ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers 415 for a body that is not JSON, 400 for malformed JSON and 413 for an oversized one', async () => {
    const form = await fetch(`${stack.api.url}/api/v1/users`, {
      method: 'POST', headers: { authorization: 'Bearer integration-test-admin-token', 'content-type': 'application/json; charset=latin-9' }, body: '{}',
    });
    expect(form.status).toBe(415);
    expect((await stack.request('PATCH', `/api/v1/flags/${fixtures.flag}`, { raw: '{"name": ' })).status).toBe(400);
    const huge = await stack.request('POST', '/api/v1/segments', { body: { key: 'huge', kind: 'list', members: Array.from({ length: 40_000 }, (_, i) => `member-${i}`) } });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers 404 for well-formed ids that do not exist', async () => {
    for (const path of [
      '/api/v1/flags/no-such-flag', '/api/v1/flags/no-such-flag/environments/staging', `/api/v1/flags/${fixtures.flag}/environments/moon`,
      '/api/v1/segments/no-such-segment', '/api/v1/users/00000000-0000-4000-8000-000000000000', '/api/v1/tokens/00000000-0000-4000-8000-000000000000',
    ]) {
      const response = await stack.request('GET', path);
      expect(response.status, path).toBe(404);
      expect(response.body.error.code).toBe('NOT_FOUND');
    }
  });

  it('names the header for a bad header, and the field for a token kind that does not take it', async () => {
    const kill = await stack.request('POST', `/api/v1/flags/${fixtures.flag}/environments/staging/kill-switch`, { body: { reason: 'x' }, headers: { 'idempotency-key': 'not valid!' } });
    expect(kill.status).toBe(400);
    expect(kill.body.error.details.map((d: { path: string }) => d.path)).toEqual(['headers.idempotency-key']);
    const adminWithEnvironment = await stack.request('POST', '/api/v1/tokens', { body: { name: 't', kind: 'admin', environment: 'staging' } });
    expect(adminWithEnvironment.status).toBe(400);
    expect(adminWithEnvironment.body.error.details.map((d: { path: string }) => d.path)).toContain('body.environment');
  });
});

