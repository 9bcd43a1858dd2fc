import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderApiReference } from '../../scripts/docs/api-reference.js';
import { startStack, type Stack } from './harness.js';

let stack: Stack;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let doc: any;
beforeAll(async () => {
  stack = await startStack();
  const response = await stack.request('GET', '/openapi.json', { token: null });
  expect(response.status).toBe(200);
  doc = response.body;
});
afterAll(async () => {
  await stack?.close();
});

/** Resolves a local JSON pointer such as #/components/schemas/User. */
function resolve(pointer: string): unknown {
  return pointer.slice(2).split('/').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

function refsIn(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refsIn(n, found));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') found.push(v);
      else refsIn(v, found);
    }
  }
  return found;
}

describe('OpenAPI document', () => {
  it('is what docs/api.md documents (npm run docs:generate rewrites it)', async () => {
    const markdown = renderApiReference(doc);
    expect(markdown).toContain('### `POST /api/v1/flags/{key}/environments/{env}/kill-switch`');
    await expect(markdown).toMatchFileSnapshot('../../docs/api.md');
  });

  it('is OpenAPI 3.1 with every route, its auth and its error bodies', () => {
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, op })),
    );
    const listed = operations.map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    for (const expected of [
      'POST /api/v1/flags', 'GET /api/v1/flags', 'GET /api/v1/flags/{key}', 'PATCH /api/v1/flags/{key}', 'DELETE /api/v1/flags/{key}',
      'POST /api/v1/flags/{key}/archive', 'POST /api/v1/flags/{key}/unarchive', 'GET /api/v1/flags/{key}/environments/{env}',
      'PUT /api/v1/flags/{key}/environments/{env}', 'POST /api/v1/flags/{key}/environments/{env}/copy',
      'POST /api/v1/flags/{key}/environments/{env}/kill-switch', 'DELETE /api/v1/flags/{key}/environments/{env}/kill-switch',
      'GET /api/v1/segments', 'POST /api/v1/segments', 'PUT /api/v1/segments/{key}', 'DELETE /api/v1/segments/{key}',
      'PUT /api/v1/segments/{key}/members', 'GET /api/v1/segments/{key}/members/{member}',
      'GET /api/v1/users', 'POST /api/v1/users', 'PUT /api/v1/users/{id}/grants', 'GET /api/v1/tokens', 'POST /api/v1/tokens', 'DELETE /api/v1/tokens/{id}',
      'GET /api/v1/audit', 'GET /api/v1/audit/verify', 'POST /ofrep/v1/evaluate/flags/{key}', 'POST /ofrep/v1/evaluate/flags', 'GET /api/v1/stream',
      'POST /api/v1/evaluate', 'GET /healthz', 'GET /readyz', 'GET /metrics',
    ]) expect(listed).toContain(expected);
    for (const { path, method, op } of operations) {
      expect(op['x-ripcord-auth'], `${method} ${path}`).toEqual(expect.any(String));
      expect(op.security, `${method} ${path}`).toBeDefined();
      if ((op.security as unknown[]).length > 0) {
        expect(Object.keys(op.responses as object), `${method} ${path}`).toContain('401');
      }
    }
    const create = doc.paths['/api/v1/flags'].post;
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '409', '413', '415']));
    expect(create.responses['400'].content['application/json'].schema.$ref).toBe('#/components/schemas/Error');
  });

  it('takes its schemas from the zod schemas the routes parse with, and every $ref resolves', () => {
    const body = resolve(doc.paths['/api/v1/flags'].post.requestBody.content['application/json'].schema.$ref) as { properties: Record<string, { enum?: string[] }>; required: string[] };
    expect(body.required).toEqual(expect.arrayContaining(['key', 'name', 'type']));
    expect(JSON.stringify(body.properties.type)).toContain('boolean');
    const grants = doc.paths['/api/v1/users/{id}/grants'].put.requestBody.content['application/json'].schema.$ref;
    expect(JSON.stringify(resolve(grants))).toContain('kill_switch');
    const params = doc.paths['/api/v1/audit'].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(expect.arrayContaining(['flag', 'actor', 'action', 'from', 'to', 'cursor', 'limit']));
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of new Set(refs)) expect(resolve(ref), ref).toBeDefined();
  });
});
