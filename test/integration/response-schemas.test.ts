import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironmentToken, createFlag } from './governance-helpers.js';
import { startStack, uniqueKey, type Stack } from './harness.js';

/**
 * Answers checked against the schemas /openapi.json documents for them, as any generated client
 * would read them. Each case is drift the API fuzz test (security/api-fuzz.ts) found: a field
 * the response had and the document did not, or a status the document did not list.
 */

let stack: Stack;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let doc: any;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

beforeAll(async () => {
  stack = await startStack();
  doc = (await stack.request('GET', '/openapi.json', { token: null })).body;
  ajv.addSchema({ $id: 'openapi', components: doc.components });
});
afterAll(async () => {
  await stack?.close();
});

/** Asserts `status` is documented for the operation and `body` matches the schema documented for it. */
function expectDocumented(method: string, path: string, response: { status: number; body: unknown }): void {
  const responses = doc.paths[path]?.[method]?.responses;
  expect(responses, `${method} ${path} is documented`).toBeDefined();
  expect(Object.keys(responses), `${method} ${path} documents status ${response.status}`).toContain(String(response.status));
  const ref: string | undefined = responses[String(response.status)].content?.['application/json']?.schema?.$ref;
  if (!responses[String(response.status)].content) expect(response.body, `${method} ${path} ${response.status} has no body`).toBeUndefined();
  if (!ref) return;
  const validate = ajv.getSchema(`openapi${ref}`);
  expect(validate, ref).toBeDefined();
  const valid = validate!(response.body);
  expect(valid, `${method} ${path} ${response.status}: ${JSON.stringify(validate!.errors)}`).toBe(true);
}

describe('responses match /openapi.json', () => {
  it("GET /flags/{key} documents the flag's revision", async () => {
    const key = await createFlag(stack, 'documented');
    const response = await stack.request('GET', `/api/v1/flags/${key}`);
    expect(response.status).toBe(200);
    expect(response.body.revision).toBe(1);
    expectDocumented('get', '/api/v1/flags/{key}', response);
  });

  it('GET /segments/{key} documents where the segment is used', async () => {
    const key = uniqueKey('documented');
    expect((await stack.request('POST', '/api/v1/segments', { body: { key, kind: 'list', members: ['m1'] } })).status).toBe(201);
    const response = await stack.request('GET', `/api/v1/segments/${key}`);
    expect(response.status).toBe(200);
    expect(response.body.used_by).toEqual([]);
    expectDocumented('get', '/api/v1/segments/{key}', response);
  });

  it('GET /users/me documents the bootstrap admin, which has no user row', async () => {
    const response = await stack.request('GET', '/api/v1/users/me');
    expect(response.status).toBe(200);
    expect(response.body.id).toBe('bootstrap-admin');
    expectDocumented('get', '/api/v1/users/me', response);
  });

  it('POST /evaluate documents the 404 for an unknown X-Environment', async () => {
    const response = await stack.request('POST', '/api/v1/evaluate', { body: { context: {} }, headers: { 'x-environment': 'no-such-environment' } });
    expect(response.status).toBe(404);
    expectDocumented('post', '/api/v1/evaluate', response);
  });

  it('GET /flags/{key}/environments/{env} documents the config fields at the top level', async () => {
    const key = await createFlag(stack, 'documented');
    const response = await stack.request('GET', `/api/v1/flags/${key}/environments/production`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ key, enabled: false, kill_switch: { enabled: false } });
    expectDocumented('get', '/api/v1/flags/{key}/environments/{env}', response);
  });

  it('OFREP documents its 403 without a body, as OFREP defines it', async () => {
    const client = await createEnvironmentToken(stack, 'client', 'production');
    for (const path of ['/ofrep/v1/evaluate/flags', '/ofrep/v1/evaluate/flags/{key}']) {
      const response = await stack.request('POST', path.replace('{key}', 'any-flag'), { token: client.token, body: { context: {} }, headers: { 'x-environment': 'staging' } });
      expect(response.status, path).toBe(403);
      expectDocumented('post', path, response);
    }
  });

  it('the evaluation answers (OFREP single and bulk, native bulk) document the variant served', async () => {
    const key = uniqueKey('documented');
    expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'string' } })).status).toBe(201);
    const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: {
      enabled: true, variants: [{ name: 'control', value: 'a' }, { name: 'compact', value: 'b' }], on_variant: 'compact', off_variant: 'control',
    } });
    expect(put.status).toBe(200);
    const context = { context: { targetingKey: 'u1' } };
    const single = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: context });
    expect(single.body).toMatchObject({ key, value: 'b', variant: 'compact' });
    expectDocumented('post', '/ofrep/v1/evaluate/flags/{key}', single);
    const bulk = await stack.request('POST', '/ofrep/v1/evaluate/flags', { body: context });
    expect(bulk.body.flags).toContainEqual(expect.objectContaining({ key, variant: 'compact' }));
    expectDocumented('post', '/ofrep/v1/evaluate/flags', bulk);
    const native = await stack.request('POST', '/api/v1/evaluate', { body: { ...context, flags: [key, 'no-such-flag'] } });
    expect(native.body.flags).toEqual([expect.objectContaining({ key, variant: 'compact' }), expect.objectContaining({ key: 'no-such-flag', variant: null })]);
    expectDocumented('post', '/api/v1/evaluate', native);
    // The documents require it: the same answers without `variant` do not match.
    const withoutVariant = (item: Record<string, unknown>) => Object.fromEntries(Object.entries(item).filter(([k]) => k !== 'variant'));
    const validator = (path: string) => ajv.getSchema(`openapi${doc.paths[path].post.responses['200'].content['application/json'].schema.$ref}`)!;
    expect(validator('/ofrep/v1/evaluate/flags/{key}')(withoutVariant(single.body))).toBe(false);
    expect(validator('/ofrep/v1/evaluate/flags')({ flags: [withoutVariant(bulk.body.flags.find((f: { key: string }) => f.key === key))] })).toBe(false);
    expect(validator('/api/v1/evaluate')({ ...native.body, flags: [withoutVariant(native.body.flags[0])] })).toBe(false);
  });
});
