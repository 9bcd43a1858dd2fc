import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, uniqueKey, type Stack } from '../harness.js';
import { createFlag, createUser } from '../governance-helpers.js';

/**
 * A NUL byte or a lone UTF-16 surrogate in any text field (PostgreSQL refuses both) answers 400
 * naming the field, never a 500; a body nested 10,000 deep is 400 too.
 */

const NUL = 'bad\u0000text';
const SURROGATE = 'bad\ud800text';

let stack: Stack;
let flag: string;
let jsonFlag: string;
let segment: string;
let userId: string;
beforeAll(async () => {
  stack = await startStack();
  flag = await createFlag(stack, 'bad-text');
  jsonFlag = uniqueKey('bad-text-json');
  expect((await stack.request('POST', '/api/v1/flags', { body: { key: jsonFlag, name: 'json', type: 'json' } })).status).toBe(201);
  segment = uniqueKey('bad-text-seg');
  expect((await stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['m1'] } })).status).toBe(201);
  userId = (await createUser(stack, 'viewer')).id;
});
afterAll(async () => {
  await stack?.close();
});

const config = (overrides: Record<string, unknown>) => ({ enabled: true, value: true, off_value: false, ...overrides });

interface Case {
  name: string;
  method: string;
  path: () => string;
  body?: (bad: string) => unknown;
  query?: (bad: string) => string;
  field: string;
}

const cases: Case[] = [
  { name: 'flag name', method: 'POST', path: () => '/api/v1/flags', body: (bad) => ({ key: uniqueKey('f'), name: bad, type: 'boolean' }), field: 'body.name' },
  { name: 'flag description', method: 'POST', path: () => '/api/v1/flags', body: (bad) => ({ key: uniqueKey('f'), name: 'n', description: bad, type: 'boolean' }), field: 'body.description' },
  { name: 'flag reason', method: 'PATCH', path: () => `/api/v1/flags/${flag}`, body: (bad) => ({ name: 'n', reason: bad }), field: 'body.reason' },
  { name: 'rule id', method: 'PUT', path: () => `/api/v1/flags/${flag}/environments/staging`, body: (bad) => config({ rules: [{ id: bad, type: 'custom', conditions: [], action: 'enable', priority: 1 }] }), field: 'body.rules.0.id' },
  { name: 'condition field', method: 'PUT', path: () => `/api/v1/flags/${flag}/environments/staging`, body: (bad) => config({ rules: [{ id: 'r', type: 'custom', conditions: [{ field: bad, operator: 'equals', value: 'x' }], action: 'enable', priority: 1 }] }), field: 'body.rules.0.conditions.0.field' },
  { name: 'condition value', method: 'PUT', path: () => `/api/v1/flags/${flag}/environments/staging`, body: (bad) => config({ rules: [{ id: 'r', type: 'custom', conditions: [{ field: 'email', operator: 'equals', value: bad }], action: 'enable', priority: 1 }] }), field: 'body.rules.0.conditions.0.value' },
  { name: '`in` list item', method: 'PUT', path: () => `/api/v1/flags/${flag}/environments/staging`, body: (bad) => config({ rules: [{ id: 'r', type: 'custom', conditions: [{ field: 'email', operator: 'in', value: ['ok', bad] }], action: 'enable', priority: 1 }] }), field: 'body.rules.0.conditions.0.value' },
  { name: 'json config value (nested)', method: 'PUT', path: () => `/api/v1/flags/${jsonFlag}/environments/staging`, body: (bad) => ({ enabled: true, value: { a: [1, { b: bad }] }, off_value: {} }), field: 'body.value.a.1.b' },
  { name: 'json config key (nested)', method: 'PUT', path: () => `/api/v1/flags/${jsonFlag}/environments/staging`, body: (bad) => ({ enabled: true, value: {}, off_value: { [bad]: 1 } }), field: 'body.off_value' },
  { name: 'segment name', method: 'POST', path: () => '/api/v1/segments', body: (bad) => ({ key: uniqueKey('s'), kind: 'list', name: bad }), field: 'body.name' },
  { name: 'segment member (JSON)', method: 'POST', path: () => `/api/v1/segments/${segment}/members`, body: (bad) => ({ add: [bad] }), field: 'body.add.0' },
  { name: 'user name', method: 'POST', path: () => '/api/v1/users', body: (bad) => ({ email: `${uniqueKey('u')}@example.com`, name: bad, role: 'viewer' }), field: 'body.name' },
  { name: 'user name (patch)', method: 'PATCH', path: () => `/api/v1/users/${userId}`, body: (bad) => ({ name: bad }), field: 'body.name' },
  { name: 'token name', method: 'POST', path: () => '/api/v1/tokens', body: (bad) => ({ name: bad, kind: 'client', environment: 'staging' }), field: 'body.name' },
  { name: 'kill reason', method: 'POST', path: () => `/api/v1/flags/${flag}/environments/staging/kill-switch`, body: (bad) => ({ reason: bad }), field: 'body.reason' },
  { name: 'webhook secret', method: 'POST', path: () => '/api/v1/webhooks', body: (bad) => ({ url: 'https://hooks.example.com/x', events: ['*'], secret: `${bad}-long-enough-secret` }), field: 'body.secret' },
  { name: 'event variant', method: 'POST', path: () => '/api/v1/events', body: (bad) => ({ environment: 'staging', events: [{ flag, variant: bad, outcome: 'success' }] }), field: 'body.events.0.variant' },
  { name: 'scheduled config value', method: 'POST', path: () => `/api/v1/flags/${flag}/environments/staging/scheduled-changes`, body: (bad) => ({ at: new Date(Date.now() + 3_600_000).toISOString(), config: config({ rules: [{ id: bad, type: 'custom', conditions: [], action: 'enable', priority: 1 }] }) }), field: 'body.config.rules.0.id' },
  { name: '/audit?actor=', method: 'GET', path: () => '/api/v1/audit', query: (bad) => `actor=${encodeURIComponent(bad)}`, field: 'query.actor' },
  { name: '/audit?resource_id=', method: 'GET', path: () => '/api/v1/audit', query: (bad) => `resource_id=${encodeURIComponent(bad)}`, field: 'query.resource_id' },
  { name: '/flags?q=', method: 'GET', path: () => '/api/v1/flags', query: (bad) => `q=${encodeURIComponent(bad)}`, field: 'query.q' },
  { name: '/segments?q=', method: 'GET', path: () => '/api/v1/segments', query: (bad) => `q=${encodeURIComponent(bad)}`, field: 'query.q' },
];

describe('text with NUL or lone surrogates', () => {
  for (const [label, bad] of [['NUL', NUL], ['lone surrogate', SURROGATE]] as const) {
    it(`answers 400 naming the field for a ${label} in every text field`, async () => {
      const failures: string[] = [];
      for (const c of cases) {
        // encodeURIComponent refuses a lone surrogate; %ED%A0%80 is its (invalid) UTF-8 form, which Node decodes to U+FFFD.
        const query = c.query ? `?${label === 'NUL' ? c.query(bad) : c.query('x').replace(/=x$/, '=%ED%A0%80%00')}` : '';
        const response = await stack.request(c.method, `${c.path()}${query}`, c.body ? { body: c.body(bad) } : {});
        const paths: string[] = (response.body?.error?.details ?? []).map((d: { path: string }) => d.path);
        if (response.status !== 400 || !paths.some((p) => p === c.field || p.startsWith(`${c.field}.`))) {
          failures.push(`${c.name}: ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }

  it('refuses a bad line in a text/plain member upload, naming it', async () => {
    const response = await stack.request('PUT', `/api/v1/segments/${segment}/members`, { raw: `ok-member\n${NUL}\n`, headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((d: { path: string }) => d.path)).toContain('body.1');
  });
});

describe('deeply nested bodies', () => {
  const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  it('answers 400 or 413, never 500, on the management API, the evaluation fast path and OFREP', async () => {
    const targets: Array<[string, string, string]> = [
      ['POST', '/api/v1/flags', deep(10_000)],
      ['PUT', `/api/v1/flags/${jsonFlag}/environments/staging`, `{"enabled":true,"off_value":{},"value":${deepObject(10_000)}}`],
      ['POST', '/api/v1/evaluate', `{"context":${deepObject(10_000)}}`],
      ['POST', `/ofrep/v1/evaluate/flags/${flag}`, `{"context":{"targetingKey":"u","x":${deep(10_000)}}}`],
      ['POST', '/ofrep/v1/evaluate/flags', `{"context":${deepObject(10_000)}}`],
    ];
    for (const [method, path, raw] of targets) {
      const response = await stack.request(method, path, { raw });
      expect([400, 413], `${method} ${path}: ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`).toContain(response.status);
    }
  });

  it('refuses a json flag value nested deeper than the limit, naming it, and accepts a shallow one', async () => {
    const deepValue = JSON.parse(deepObject(40));
    const refused = await stack.request('PUT', `/api/v1/flags/${jsonFlag}/environments/staging`, { body: { enabled: true, value: deepValue, off_value: {} } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.map((d: { path: string }) => d.path)).toContain('body.value');
    const accepted = await stack.request('PUT', `/api/v1/flags/${jsonFlag}/environments/staging`, { body: { enabled: true, value: JSON.parse(deepObject(10)), off_value: { emoji: '🚀' } } });
    expect(accepted.status).toBe(200);
  });
});
