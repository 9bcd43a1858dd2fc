import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

/**
 * /api/v1 speaks one casing: every field and query parameter name in its OpenAPI document is
 * snake_case. OFREP (/ofrep/…) keeps its spec's camelCase and is left out by its path prefix.
 */

const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const CHECKED_PREFIX = '/api/v1/';

type Node = Record<string, unknown>;
let stack: Stack;
let doc: Node;
beforeAll(async () => {
  stack = await startStack({}, { worker: false });
  const response = await stack.request('GET', '/openapi.json', { token: null });
  expect(response.status).toBe(200);
  doc = response.body;
});
afterAll(async () => {
  await stack?.close();
});

function resolve(pointer: string): Node {
  const found = pointer.slice(2).split('/').reduce<unknown>((node, part) => (node as Node | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  expect(found, pointer).toBeDefined();
  return found as Node;
}

/** Every property name in a schema, with where it sits: nested objects, arrays, maps, unions and $refs followed. */
function namesIn(schema: unknown, where: string, found: Array<{ name: string; where: string }>, seen = new Set<string>()): typeof found {
  if (Array.isArray(schema)) {
    schema.forEach((s, i) => namesIn(s, `${where}[${i}]`, found, seen));
    return found;
  }
  if (!schema || typeof schema !== 'object') return found;
  const node = schema as Node;
  if (typeof node.$ref === 'string' && !seen.has(node.$ref)) {
    seen.add(node.$ref);
    namesIn(resolve(node.$ref), where, found, seen);
  }
  for (const [name, property] of Object.entries((node.properties ?? {}) as Node)) {
    found.push({ name, where: `${where}.${name}` });
    namesIn(property, `${where}.${name}`, found, seen);
  }
  for (const name of (node.required ?? []) as string[]) found.push({ name, where: `${where} (required)` });
  for (const key of ['items', 'prefixItems', 'additionalProperties', 'patternProperties', 'anyOf', 'oneOf', 'allOf', 'not', 'if', 'then', 'else', '$defs']) {
    if (key in node) namesIn(key === 'patternProperties' || key === '$defs' ? Object.values(node[key] as Node) : node[key], `${where}/${key}`, found, seen);
  }
  return found;
}

/** The names of every /api/v1 operation: its path and query parameters, its JSON body and its JSON answers. */
function apiNames() {
  const found: Array<{ name: string; where: string }> = [];
  let operations = 0;
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Node>>)) {
    if (!path.startsWith(CHECKED_PREFIX)) continue;
    for (const [method, operation] of Object.entries(methods)) {
      operations++;
      const at = `${method.toUpperCase()} ${path}`;
      for (const parameter of (operation.parameters ?? []) as Node[]) {
        // Header names are HTTP's (If-Match, Idempotency-Key), not the API's fields.
        if (parameter.in === 'header') continue;
        found.push({ name: parameter.name as string, where: `${at} ${parameter.in} parameter` });
        namesIn(parameter.schema, `${at} ${parameter.in}.${parameter.name as string}`, found);
      }
      const body = (operation.requestBody as Node | undefined)?.content as Record<string, Node> | undefined;
      namesIn(body?.['application/json']?.schema, `${at} body`, found);
      for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Node>)) {
        const content = response.content as Record<string, Node> | undefined;
        for (const [type, media] of Object.entries(content ?? {})) namesIn(media.schema, `${at} ${status} ${type}`, found);
      }
    }
  }
  return { found, operations };
}

describe('/api/v1 casing', () => {
  it('names every field and parameter of every /api/v1 operation in snake_case', () => {
    const { found, operations } = apiNames();
    // The walk reached the API: dozens of operations, hundreds of names, nested ones among them.
    expect(operations).toBeGreaterThan(50);
    expect(found.length).toBeGreaterThan(500);
    expect(found.map((f) => f.name)).toEqual(expect.arrayContaining(['kill_switch', 'next_cursor', 'workflow_url']));
    const offenders = found.filter(({ name }) => !SNAKE_CASE.test(name));
    const byName = new Map<string, string[]>();
    for (const { name, where } of offenders) byName.set(name, [...(byName.get(name) ?? []), where]);
    expect(Object.fromEntries([...byName].map(([name, wheres]) => [name, wheres.slice(0, 3)]))).toEqual({});
  });

  it('leaves OFREP out by its path prefix, and OFREP keeps its camelCase', () => {
    const ofrep = Object.entries(doc.paths as Record<string, Record<string, Node>>).filter(([path]) => path.startsWith('/ofrep/'));
    expect(ofrep.length).toBeGreaterThan(0);
    const parameters = ofrep.flatMap(([, methods]) => Object.values(methods).flatMap((operation) => ((operation.parameters ?? []) as Node[]).map((p) => p.name)));
    expect(parameters).toContain('flagConfigEtag');
  });

  it('the walk finds a camelCase name wherever it hides', () => {
    // The same walk over a made-up document: a name in a query parameter, a nested array item, a
    // map's values, a union member and a $ref are each found.
    const saved = doc;
    doc = {
      paths: {
        '/api/v1/x': {
          get: {
            parameters: [{ name: 'pageSize', in: 'query', schema: { type: 'integer' } }, { name: 'If-Match', in: 'header' }],
            requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { list: { type: 'array', items: { properties: { innerName: {} } } } } } } } },
            responses: {
              200: { content: { 'application/json': { schema: { additionalProperties: { anyOf: [{ $ref: '#/components/schemas/A' }, { properties: { unionName: {} } }] } } } } },
            },
          },
        },
        '/ofrep/v1/y': { get: { parameters: [{ name: 'ofrepName', in: 'query' }] } },
      },
      components: { schemas: { A: { properties: { refName: {} } } } },
    };
    try {
      const names = apiNames().found.filter(({ name }) => !SNAKE_CASE.test(name)).map((f) => f.name);
      expect(names.sort()).toEqual(['innerName', 'pageSize', 'refName', 'unionName']);
    } finally {
      doc = saved;
    }
  });
});
