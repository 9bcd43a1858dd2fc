import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, uniqueKey, type Stack } from './harness.js';
import { createEnvironmentToken, createFlag, createUser } from './governance-helpers.js';

/**
 * Every subject (role, grant, token kind) × every management route and environment, against the real
 * API and database: the expected answer is written out here, not derived from the implementation.
 */

type Subject = 'viewer' | 'editor' | 'admin' | 'emergency_responder' | 'staging_editor' | 'payments_responder' | 'client' | 'server';
const SUBJECTS: Subject[] = ['viewer', 'editor', 'admin', 'emergency_responder', 'staging_editor', 'payments_responder', 'client', 'server'];
const USERS: Subject[] = ['viewer', 'editor', 'admin', 'emergency_responder', 'staging_editor', 'payments_responder'];

let stack: Stack;
const tokens = {} as Record<Subject, string>;
let plain: string;
let payments: string;

beforeAll(async () => {
  stack = await startStack();
  for (const role of ['viewer', 'editor', 'admin', 'emergency_responder'] as const) tokens[role] = (await createUser(stack, role)).token;
  tokens.staging_editor = (await createUser(stack, 'viewer', [
    { resource: 'flag', action: 'write', conditions: { environments: ['staging'] } },
  ])).token;
  tokens.payments_responder = (await createUser(stack, 'viewer', [
    { resource: 'flag', action: 'kill_switch', conditions: { environments: ['production'], flag_tags: ['payments'] } },
  ])).token;
  tokens.client = (await createEnvironmentToken(stack, 'client', 'staging')).token;
  tokens.server = (await createEnvironmentToken(stack, 'server', 'staging')).token;
  plain = await createFlag(stack, 'rbac-plain');
  payments = await createFlag(stack, 'rbac-payments', ['payments']);
});
afterAll(async () => {
  await stack?.close();
});

interface Case {
  name: string;
  allowed: Subject[];
  /** Runs the request as the subject; returns its status. May clean up after an allowed change. */
  run: (token: string) => Promise<number>;
}

const call = async (token: string, method: string, path: string, body?: unknown) => (await stack.request(method, path, { token, body })).status;
const config = { enabled: true, value: true, off_value: false };

/** Kill, then release with the same token (both need the same right). */
const killAndRelease = (flag: () => string, environment: string) => async (token: string) => {
  const path = `/api/v1/flags/${flag()}/environments/${environment}/kill-switch`;
  const status = await call(token, 'POST', path, { reason: 'rbac matrix' });
  if (status < 300) expect(await call(token, 'DELETE', path)).toBe(200);
  return status;
};

const READERS: Subject[] = [...USERS, 'server'];
const EDITORS: Subject[] = ['editor', 'admin'];

const CASES: Case[] = [
  { name: 'GET /flags', allowed: READERS, run: (t) => call(t, 'GET', '/api/v1/flags') },
  { name: 'GET /flags/{key}', allowed: READERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}`) },
  { name: 'GET config in staging', allowed: READERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/environments/staging`) },
  { name: 'GET config in production', allowed: USERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/environments/production`) },
  { name: 'PUT config in staging', allowed: [...EDITORS, 'staging_editor'], run: (t) => call(t, 'PUT', `/api/v1/flags/${plain}/environments/staging`, config) },
  { name: 'PUT config in production', allowed: EDITORS, run: (t) => call(t, 'PUT', `/api/v1/flags/${plain}/environments/production`, config) },
  { name: 'PUT config in development', allowed: EDITORS, run: (t) => call(t, 'PUT', `/api/v1/flags/${plain}/environments/development`, config) },
  { name: 'copy staging → production', allowed: EDITORS, run: (t) => call(t, 'POST', `/api/v1/flags/${plain}/environments/production/copy`, { from: 'staging' }) },
  { name: 'copy production → staging', allowed: [...EDITORS, 'staging_editor'], run: (t) => call(t, 'POST', `/api/v1/flags/${plain}/environments/staging/copy`, { from: 'production' }) },
  { name: 'POST /flags', allowed: EDITORS, run: (t) => call(t, 'POST', '/api/v1/flags', { key: uniqueKey('rbac-new'), name: 'n', type: 'boolean' }) },
  { name: 'PATCH /flags/{key}', allowed: EDITORS, run: (t) => call(t, 'PATCH', `/api/v1/flags/${plain}`, { description: 'changed' }) },
  {
    name: 'archive and unarchive', allowed: EDITORS,
    run: async (t) => {
      const status = await call(t, 'POST', `/api/v1/flags/${plain}/archive`);
      if (status < 300) expect(await call(t, 'POST', `/api/v1/flags/${plain}/unarchive`)).toBe(200);
      return status;
    },
  },
  { name: 'kill switch, untagged flag, production', allowed: ['admin', 'emergency_responder'], run: killAndRelease(() => plain, 'production') },
  { name: 'kill switch, payments flag, production', allowed: ['admin', 'emergency_responder', 'payments_responder'], run: killAndRelease(() => payments, 'production') },
  { name: 'kill switch, payments flag, staging', allowed: ['admin', 'emergency_responder'], run: killAndRelease(() => payments, 'staging') },
  { name: 'GET /segments', allowed: READERS, run: (t) => call(t, 'GET', '/api/v1/segments') },
  { name: 'POST /segments', allowed: EDITORS, run: (t) => call(t, 'POST', '/api/v1/segments', { key: uniqueKey('rbac-seg'), kind: 'list', members: [] }) },
  { name: 'GET /audit', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/audit?limit=1') },
  { name: 'GET /audit/verify', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/audit/verify') },
  { name: 'GET /users', allowed: ['admin'], run: (t) => call(t, 'GET', '/api/v1/users') },
  { name: 'POST /users', allowed: ['admin'], run: (t) => call(t, 'POST', '/api/v1/users', { email: `${uniqueKey('u')}@example.com`, name: 'U', role: 'viewer' }) },
  { name: 'GET /users/me', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/users/me') },
  { name: 'POST /tokens (client, staging)', allowed: EDITORS, run: (t) => call(t, 'POST', '/api/v1/tokens', { name: 't', kind: 'client', environment: 'staging' }) },
  { name: 'POST /tokens (admin, for yourself)', allowed: USERS, run: (t) => call(t, 'POST', '/api/v1/tokens', { name: 't', kind: 'admin' }) },
  { name: 'GET /tokens', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/tokens') },
  // Another user's token is hidden: its id answers 404, counted here as a refusal.
  ...(['GET', 'DELETE'] as const).map((method): Case => ({
    name: `${method} /tokens/{id} of a token someone else made`, allowed: ['admin'],
    run: async (t) => {
      const { id } = await createEnvironmentToken(stack, 'server', 'staging');
      const status = await call(t, method, `/api/v1/tokens/${id}`);
      return status === 404 ? 403 : status;
    },
  })),
  { name: 'GET /audit/verify?checkpoint=', allowed: USERS, run: (t) => call(t, 'GET', `/api/v1/audit/verify?checkpoint=${encodeURIComponent(JSON.stringify({ seq: 1, hash: 'a'.repeat(64), at: new Date().toISOString(), signature: 'b'.repeat(64) }))}`) },
  {
    name: 'POST /events (outcomes in staging)', allowed: [...EDITORS, 'staging_editor', 'server'],
    run: (t) => call(t, 'POST', '/api/v1/events', { environment: 'staging', events: [{ flag: plain, variant: 'on', outcome: 'success', count: 1 }] }),
  },
  { name: 'GET /dashboard/flags', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/dashboard/flags?environment=staging') },
  { name: 'GET /dashboard/rollouts', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/dashboard/rollouts') },
  { name: 'GET /flags/{key}/metrics', allowed: READERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/metrics`) },
  { name: 'GET /flags/{key}/metrics/history', allowed: READERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/metrics/history?environment=staging`) },
  { name: 'POST /stream/tickets', allowed: USERS, run: (t) => call(t, 'POST', '/api/v1/stream/tickets', { environments: ['staging'] }) },
  { name: 'GET kill switch state', allowed: USERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/environments/staging/kill-switch`) },
  { name: 'GET /webhooks', allowed: ['admin'], run: (t) => call(t, 'GET', '/api/v1/webhooks') },
  {
    name: 'POST and DELETE /webhooks', allowed: ['admin'],
    run: async (t) => {
      const created = await stack.request('POST', '/api/v1/webhooks', { token: t, body: { url: 'http://127.0.0.1:9/rbac', events: ['flag.killed'] } });
      if (created.status < 300) expect(await call(t, 'DELETE', `/api/v1/webhooks/${created.body.id}`)).toBe(204);
      return created.status;
    },
  },
  { name: 'GET alert triggers of a flag', allowed: USERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/environments/staging/triggers`) },
  {
    name: 'POST and DELETE an alert trigger, payments flag, production', allowed: ['admin', 'emergency_responder', 'payments_responder'],
    run: async (t) => {
      const created = await stack.request('POST', `/api/v1/flags/${payments}/environments/production/triggers`, { token: t, body: { name: 'rbac', source: 'generic' } });
      if (created.status < 300) expect(await call(t, 'DELETE', `/api/v1/triggers/${created.body.id}`)).toBeLessThan(300);
      return created.status;
    },
  },
  { name: 'GET /definitions (staging)', allowed: READERS, run: (t) => call(t, 'GET', '/api/v1/definitions?environment=staging') },
  { name: 'GET /flagd/{env}/flags.json (staging)', allowed: READERS, run: (t) => call(t, 'GET', '/api/v1/flagd/staging/flags.json') },
  { name: 'POST explain in staging', allowed: READERS, run: (t) => call(t, 'POST', `/api/v1/flags/${plain}/environments/staging/explain`, { context: { targetingKey: 'u' } }) },
  { name: 'GET rollouts in staging', allowed: READERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/environments/staging/rollouts`) },
  { name: 'GET scheduled changes in staging', allowed: READERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/environments/staging/scheduled-changes`) },
  { name: 'GET /flags/{key}/code-references', allowed: USERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/code-references`) },
  {
    name: 'GET /users/{id} of another user', allowed: ['admin'],
    run: async (t) => call(t, 'GET', `/api/v1/users/${(await createUser(stack, 'viewer')).id}`),
  },
  {
    name: 'OFREP bulk evaluate in the token environment', allowed: SUBJECTS,
    run: async (t) => (await stack.request('POST', '/ofrep/v1/evaluate/flags', { token: t, body: { context: { targetingKey: 'u' } }, headers: { 'x-environment': 'staging' } })).status,
  },
  {
    name: 'OFREP evaluate in the token environment', allowed: SUBJECTS,
    run: async (t) => (await stack.request('POST', `/ofrep/v1/evaluate/flags/${plain}`, { token: t, body: { context: { targetingKey: 'u' } }, headers: { 'x-environment': 'staging' } })).status,
  },
];

describe('RBAC matrix', () => {
  for (const testCase of CASES) {
    it(`${testCase.name}: allowed for ${testCase.allowed.join(', ')}; 403 for the rest`, async () => {
      const outcome: Record<string, string> = {};
      const expected: Record<string, string> = {};
      for (const subject of SUBJECTS) {
        const status = await testCase.run(tokens[subject]);
        outcome[subject] = status < 300 ? 'allow' : status === 403 ? 'deny' : `status ${status}`;
        expected[subject] = testCase.allowed.includes(subject) ? 'allow' : 'deny';
      }
      expect(outcome).toEqual(expected);
    });
  }
});
