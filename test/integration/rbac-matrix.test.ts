import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { createEnvironmentToken, createFlag, createUser } from './governance-helpers.js';
import { csrfTokenFor, newSessionSecret, sessionDigest } from '../../src/sso/session-secret.js';
import { insertSession } from '../../src/sso/sso-store.js';

/**
 * Every subject (role, grant, token kind) × every management route and environment, against the real
 * API and database: the expected answer is written out here, not derived from the implementation.
 * Routes that hold a connection open or take no token are covered by their own tests: the SSE stream
 * (security/stream-limits, admin-ui-api: any token of the environment, tickets for users), the OFREP
 * event stream (openfeature-ofrep-streams: its signed channel) and the alert-trigger hook
 * (alert-triggers: the secret in the path).
 */

// session_editor: an editor signed in to the admin UI (single sign-on), calling with the session cookie and its CSRF token.
type Subject = 'viewer' | 'editor' | 'admin' | 'emergency_responder' | 'staging_editor' | 'payments_responder' | 'client' | 'server' | 'session_editor';
const TOKEN_SUBJECTS: Subject[] = ['viewer', 'editor', 'admin', 'emergency_responder', 'staging_editor', 'payments_responder', 'client', 'server'];
const SUBJECTS: Subject[] = [...TOKEN_SUBJECTS, 'session_editor'];
const USERS: Subject[] = ['viewer', 'editor', 'admin', 'emergency_responder', 'staging_editor', 'payments_responder', 'session_editor'];
/** The session subject is passed around as this prefix and its secret; stack.request turns it into the cookie and the CSRF header. */
const SESSION = 'session:';

let stack: Stack;
const tokens = {} as Record<Subject, string>;
let plain: string;
let payments: string;
let segment: string | undefined;

/** Release templates the pipeline rows apply (made once, by the admin): staging only; staging → production behind an editor's approval. */
const templates: { staging?: string; gated?: string } = {};
async function rbacTemplate(kind: 'staging' | 'gated'): Promise<string> {
  if (!templates[kind]) {
    const name = uniqueKey(`rbac-tpl-${kind}`).toLowerCase();
    const phases = kind === 'staging'
      ? [{ environment: 'staging', plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] } }]
      : [{ environment: 'staging', approval: { role: 'editor' }, plan: { strategy: 'immediate', percentage: 10 } }, { environment: 'production', plan: { strategy: 'immediate', percentage: 10 } }];
    expect((await stack.request('POST', '/api/v1/release-templates', { body: { name, phases } })).status).toBe(201);
    templates[kind] = name;
  }
  return templates[kind];
}

/** A list segment the segment rows read and change (made once, by the admin). */
async function rbacSegment(): Promise<string> {
  if (!segment) {
    segment = uniqueKey('rbac-seg');
    expect((await stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['m1'] } })).status).toBe(201);
  }
  return segment;
}

/** A fresh pending change request by the bootstrap admin in development (its policy on only while it is made). */
async function pendingRequest(): Promise<string> {
  const policy = '/api/v1/environments/development/change-policy';
  expect((await stack.request('PUT', policy, { body: { required_approvals: 1 } })).status).toBe(200);
  const made = await stack.request('PUT', `/api/v1/flags/${plain}/environments/development`, { body: { enabled: true, value: true, off_value: false } });
  expect((await stack.request('PUT', policy, { body: { required_approvals: 0 } })).status).toBe(200);
  expect(made.status, JSON.stringify(made.body)).toBe(202);
  return made.body.change_request.id;
}

/** A sign-in session of a user, as single sign-on opens one (the provider's part is tested in e2e/sso.test.ts). */
async function signInSession(userId: string): Promise<string> {
  const secret = newSessionSecret();
  await insertSession(stack.db, { secretHash: sessionDigest(secret), userId, expiresAt: new Date(Date.now() + 3_600_000), idTokenSealed: null, ipAddress: null, userAgent: null });
  return `${SESSION}${secret}`;
}

beforeAll(async () => {
  stack = await startStack();
  for (const role of ['viewer', 'editor', 'admin', 'emergency_responder'] as const) tokens[role] = (await createUser(stack, role)).token;
  tokens.staging_editor = (await createUser(stack, 'viewer', [
    { resource: 'flag', action: 'write', conditions: { environments: ['staging'] } },
  ])).token;
  tokens.payments_responder = (await createUser(stack, 'viewer', [
    { resource: 'flag', action: 'kill_switch', conditions: { environments: ['production'], flag_tags: ['payments'] } },
  ])).token;
  tokens.session_editor = await signInSession((await createUser(stack, 'editor')).id);
  const request = stack.request.bind(stack);
  stack.request = (method, path, options = {}) => {
    if (!options.token?.startsWith(SESSION)) return request(method, path, options);
    const secret = options.token.slice(SESSION.length);
    return request(method, path, { ...options, token: null, headers: { ...options.headers, cookie: `ripcord_session=${secret}`, 'x-csrf-token': csrfTokenFor(secret) } });
  };
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
  /** Subjects the route does not authenticate at all (401): the evaluation routes take tokens only, not the admin UI's session. */
  unauthenticated?: Subject[];
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
const EDITORS: Subject[] = ['editor', 'admin', 'session_editor'];

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
  { name: 'GET /names', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/names?ids=bootstrap-admin') },
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
  {
    name: 'PATCH an alert trigger (disable), payments flag, production', allowed: ['admin', 'emergency_responder', 'payments_responder'],
    run: async (t) => {
      const created = await stack.request('POST', `/api/v1/flags/${payments}/environments/production/triggers`, { body: { name: 'rbac-patch', source: 'generic' } });
      expect(created.status).toBe(201);
      const status = await call(t, 'PATCH', `/api/v1/triggers/${created.body.id}`, { enabled: false });
      expect((await stack.request('DELETE', `/api/v1/triggers/${created.body.id}`)).status).toBe(204);
      return status;
    },
  },
  {
    name: 'POST rotate an alert trigger\'s secret, payments flag, production', allowed: ['admin', 'emergency_responder', 'payments_responder'],
    run: async (t) => {
      const created = await stack.request('POST', `/api/v1/flags/${payments}/environments/production/triggers`, { body: { name: 'rbac-rotate', source: 'generic' } });
      expect(created.status).toBe(201);
      const status = await call(t, 'POST', `/api/v1/triggers/${created.body.id}/rotate-secret`);
      expect((await stack.request('DELETE', `/api/v1/triggers/${created.body.id}`)).status).toBe(204);
      return status;
    },
  },
  {
    // Two alerts needed: the test alert is delivered (200) but kills nothing, so later rows see the flag as it was.
    name: 'POST a test alert to a trigger, payments flag, production', allowed: ['admin', 'emergency_responder', 'payments_responder'],
    run: async (t) => {
      const created = await stack.request('POST', `/api/v1/flags/${payments}/environments/production/triggers`, { body: { name: 'rbac-test', source: 'generic', min_alerts: 2 } });
      expect(created.status).toBe(201);
      const status = await call(t, 'POST', `/api/v1/triggers/${created.body.id}/test`);
      expect((await stack.request('DELETE', `/api/v1/triggers/${created.body.id}`)).status).toBe(204);
      return status;
    },
  },
  { name: 'GET /definitions (staging)', allowed: READERS, run: (t) => call(t, 'GET', '/api/v1/definitions?environment=staging') },
  { name: 'GET /flagd/{env}/flags.json (staging)', allowed: READERS, run: (t) => call(t, 'GET', '/api/v1/flagd/staging/flags.json') },
  { name: 'POST explain in staging', allowed: READERS, run: (t) => call(t, 'POST', `/api/v1/flags/${plain}/environments/staging/explain`, { context: { targeting_key: 'u' } }) },
  { name: 'GET rollouts in staging', allowed: READERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/environments/staging/rollouts`) },
  { name: 'GET scheduled changes in staging', allowed: READERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/environments/staging/scheduled-changes`) },
  { name: 'GET /flags/{key}/code-references', allowed: USERS, run: (t) => call(t, 'GET', `/api/v1/flags/${plain}/code-references`) },
  {
    name: 'GET /users/{id} of another user', allowed: ['admin'],
    run: async (t) => call(t, 'GET', `/api/v1/users/${(await createUser(stack, 'viewer')).id}`),
  },
  { name: 'GET /lifecycle/ready-to-remove', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/lifecycle/ready-to-remove') },
  { name: 'PUT /code-references', allowed: EDITORS, run: (t) => call(t, 'PUT', '/api/v1/code-references', { repository: uniqueKey('rbac-repo'), references: [] }) },
  { name: 'GET /segments/{key}', allowed: READERS, run: async (t) => call(t, 'GET', `/api/v1/segments/${await rbacSegment()}`) },
  { name: 'GET /segments/{key}/members', allowed: READERS, run: async (t) => call(t, 'GET', `/api/v1/segments/${await rbacSegment()}/members`) },
  { name: 'GET /segments/{key}/members/{member}', allowed: READERS, run: async (t) => call(t, 'GET', `/api/v1/segments/${await rbacSegment()}/members/m1`) },
  { name: 'POST /segments/{key}/members', allowed: EDITORS, run: async (t) => call(t, 'POST', `/api/v1/segments/${await rbacSegment()}/members`, { add: ['m2'] }) },
  { name: 'PUT /segments/{key}/members', allowed: EDITORS, run: async (t) => call(t, 'PUT', `/api/v1/segments/${await rbacSegment()}/members`, { members: ['m1', 'm2'] }) },
  { name: 'PUT /segments/{key}', allowed: EDITORS, run: async (t) => call(t, 'PUT', `/api/v1/segments/${await rbacSegment()}`, { description: 'changed' }) },
  {
    name: 'DELETE /segments/{key}', allowed: EDITORS,
    run: async (t) => {
      const key = uniqueKey('rbac-seg-del');
      expect((await stack.request('POST', '/api/v1/segments', { body: { key, kind: 'list', members: [] } })).status).toBe(201);
      return call(t, 'DELETE', `/api/v1/segments/${key}`);
    },
  },
  {
    name: 'DELETE /flags/{key} (archived)', allowed: EDITORS,
    run: async (t) => {
      const key = await createFlag(stack, uniqueKey('rbac-del'));
      expect((await stack.request('POST', `/api/v1/flags/${key}/archive`)).status).toBe(200);
      return call(t, 'DELETE', `/api/v1/flags/${key}`);
    },
  },
  { name: 'PATCH /users/{id}', allowed: ['admin'], run: async (t) => call(t, 'PATCH', `/api/v1/users/${(await createUser(stack, 'viewer')).id}`, { name: 'Renamed' }) },
  { name: 'DELETE /users/{id} (deactivate)', allowed: ['admin'], run: async (t) => call(t, 'DELETE', `/api/v1/users/${(await createUser(stack, 'viewer')).id}`) },
  { name: 'PUT /users/{id}/grants', allowed: ['admin'], run: async (t) => call(t, 'PUT', `/api/v1/users/${(await createUser(stack, 'viewer')).id}/grants`, { grants: [] }) },
  {
    name: 'PATCH /webhooks/{id} and GET its deliveries', allowed: ['admin'],
    run: async (t) => {
      const created = await stack.request('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/rbac', events: ['flag.killed'] } });
      const patched = await call(t, 'PATCH', `/api/v1/webhooks/${created.body.id}`, { enabled: false });
      const deliveries = await call(t, 'GET', `/api/v1/webhooks/${created.body.id}/deliveries`);
      expect(deliveries < 300).toBe(patched < 300);
      await stack.request('DELETE', `/api/v1/webhooks/${created.body.id}`);
      return patched;
    },
  },
  {
    name: 'start and steer a rollout in staging', allowed: [...EDITORS, 'staging_editor'],
    run: async (t) => {
      const key = await createFlag(stack, uniqueKey('rbac-roll'));
      const base = `/api/v1/flags/${key}/environments/staging`;
      expect((await stack.request('PUT', base, { body: { ...config, rollout: { percentage: 0, strategy: 'gradual' } } })).status).toBe(200);
      const started = await call(t, 'POST', `${base}/rollouts`, { plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] } });
      if (started >= 300) return started;
      const paused = await call(t, 'POST', `${base}/rollouts/current/pause`, { reason: 'rbac' });
      expect(paused).toBeLessThan(300);
      expect(await call(t, 'POST', `${base}/rollouts/current/abort`, { rollback: false })).toBeLessThan(300);
      return started;
    },
  },
  {
    name: 'schedule and cancel a change in staging', allowed: [...EDITORS, 'staging_editor'],
    run: async (t) => {
      const base = `/api/v1/flags/${plain}/environments/staging/scheduled-changes`;
      const created = await stack.request('POST', base, { token: t, body: { at: new Date(Date.now() + 86_400_000).toISOString(), config } });
      if (created.status < 300) expect(await call(t, 'DELETE', `${base}/${created.body.id}`)).toBeLessThan(300);
      return created.status;
    },
  },
  { name: 'GET an environment change policy', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/environments/production/change-policy') },
  { name: 'PUT an environment change policy (off)', allowed: ['admin'], run: (t) => call(t, 'PUT', '/api/v1/environments/development/change-policy', { required_approvals: 0 }) },
  { name: 'GET /change-requests', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/change-requests?environment=development') },
  { name: 'GET /change-requests/{id}', allowed: USERS, run: async (t) => call(t, 'GET', `/api/v1/change-requests/${await pendingRequest()}`) },
  // The bootstrap admin made each request; with no approver restriction, anyone who may write the flag in development approves.
  { name: 'approve a change request in development', allowed: EDITORS, run: async (t) => call(t, 'POST', `/api/v1/change-requests/${await pendingRequest()}/approve`) },
  { name: 'reject a change request in development', allowed: EDITORS, run: async (t) => call(t, 'POST', `/api/v1/change-requests/${await pendingRequest()}/reject`, { comment: 'rbac' }) },
  { name: 'withdraw someone else’s change request', allowed: [], run: async (t) => call(t, 'POST', `/api/v1/change-requests/${await pendingRequest()}/withdraw`) },
  { name: 'GET /release-templates', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/release-templates') },
  { name: 'GET /release-pipelines', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/release-pipelines') },
  { name: 'GET /release-templates/{name}', allowed: USERS, run: async (t) => call(t, 'GET', `/api/v1/release-templates/${await rbacTemplate('staging')}`) },
  {
    name: 'POST, PUT and DELETE a release template', allowed: EDITORS,
    run: async (t) => {
      const name = uniqueKey('rbac-tpl').toLowerCase();
      const phases = [{ environment: 'staging', plan: { strategy: 'immediate', percentage: 5 } }];
      const created = await call(t, 'POST', '/api/v1/release-templates', { name, phases });
      if (created >= 300) return created;
      expect(await call(t, 'PUT', `/api/v1/release-templates/${name}`, { phases })).toBe(200);
      expect(await call(t, 'DELETE', `/api/v1/release-templates/${name}`)).toBe(204);
      return created;
    },
  },
  {
    name: 'PUT and DELETE a release template someone else made', allowed: EDITORS,
    run: async (t) => {
      const name = uniqueKey('rbac-tpl').toLowerCase();
      const phases = [{ environment: 'staging', plan: { strategy: 'immediate', percentage: 5 } }];
      expect((await stack.request('POST', '/api/v1/release-templates', { body: { name, phases } })).status).toBe(201);
      const replaced = await call(t, 'PUT', `/api/v1/release-templates/${name}`, { phases });
      const deleted = await call(t, 'DELETE', `/api/v1/release-templates/${name}`);
      expect(deleted < 300).toBe(replaced < 300);
      return replaced;
    },
  },
  {
    name: 'start, pause, resume and abort a pipeline into staging', allowed: [...EDITORS, 'staging_editor'],
    run: async (t) => {
      const key = await createFlag(stack, uniqueKey('rbac-pipe'));
      const started = await call(t, 'POST', `/api/v1/flags/${key}/pipelines`, { template: await rbacTemplate('staging') });
      if (started >= 300) return started;
      expect(await call(t, 'POST', `/api/v1/flags/${key}/pipelines/current/pause`, { reason: 'rbac' })).toBe(200);
      expect(await call(t, 'POST', `/api/v1/flags/${key}/pipelines/current/resume`)).toBe(200);
      expect(await call(t, 'POST', `/api/v1/flags/${key}/pipelines/current/abort`, { rollback: false })).toBe(200);
      return started;
    },
  },
  {
    name: 'steer a pipeline into staging and production someone else started', allowed: EDITORS,
    run: async (t) => {
      const key = await createFlag(stack, uniqueKey('rbac-pipe'));
      expect((await stack.request('POST', `/api/v1/flags/${key}/pipelines`, { body: { template: await rbacTemplate('gated') } })).status).toBe(201);
      const paused = await call(t, 'POST', `/api/v1/flags/${key}/pipelines/current/pause`, {});
      expect((await stack.request('POST', `/api/v1/flags/${key}/pipelines/current/abort`, { body: { rollback: false } })).status).toBe(200);
      return paused;
    },
  },
  {
    name: 'start a pipeline into staging and production', allowed: EDITORS,
    run: async (t) => {
      const key = await createFlag(stack, uniqueKey('rbac-pipe'));
      const started = await call(t, 'POST', `/api/v1/flags/${key}/pipelines`, { template: await rbacTemplate('gated') });
      if (started < 300) expect(await call(t, 'POST', `/api/v1/flags/${key}/pipelines/current/abort`, { rollback: false })).toBe(200);
      return started;
    },
  },
  {
    // The gate needs an editor (or an admin) other than whoever started the pipeline (the bootstrap admin here).
    name: 'approve a pipeline phase gate that needs an editor', allowed: EDITORS,
    run: async (t) => {
      const key = await createFlag(stack, uniqueKey('rbac-gate'));
      const started = await stack.request('POST', `/api/v1/flags/${key}/pipelines`, { body: { template: await rbacTemplate('gated') } });
      expect(started.status).toBe(201);
      await eventually(async () => (await stack.request('GET', `/api/v1/flags/${key}/pipelines/${started.body.id}`)).body.status === 'waiting_approval', 'the gate');
      const approved = await call(t, 'POST', `/api/v1/flags/${key}/pipelines/current/approve`, {});
      expect([200, 409]).toContain((await stack.request('POST', `/api/v1/flags/${key}/pipelines/current/abort`, { body: { rollback: false } })).status);
      return approved;
    },
  },
  {
    name: 'GET pipelines of a flag, and one pipeline', allowed: USERS,
    run: async (t) => {
      const listed = await call(t, 'GET', `/api/v1/flags/${plain}/pipelines`);
      const one = await call(t, 'GET', `/api/v1/flags/${plain}/pipelines/00000000-0000-4000-8000-000000000000`);
      expect(one).toBe(listed < 300 ? 404 : 403);
      return listed;
    },
  },
  { name: 'GET /instances (staging)', allowed: USERS, run: (t) => call(t, 'GET', '/api/v1/instances?environment=staging') },
  {
    // An SDK instance's report is part of evaluating: every token kind of the environment sends it (a browser holds a client token).
    name: 'POST /instances/report in staging', allowed: TOKEN_SUBJECTS, unauthenticated: ['session_editor'],
    run: async (t) => {
      const id = uniqueKey('rbac-instance').replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
      const status = await call(t, 'POST', '/api/v1/instances/report', { id, kind: 'node-local', version: 1, environment: 'staging' });
      if (status < 300) expect(await call(t, 'POST', '/api/v1/instances/report', { id, kind: 'node-local', version: 1, environment: 'staging', closing: true })).toBe(200);
      return status;
    },
  },
  { name: 'GET /sso/session', allowed: ['session_editor'], run: (t) => call(t, 'GET', '/api/v1/sso/session') },
  {
    // Each session signs out a fresh session of its own user, so the matrix's session lives on.
    name: 'POST /sso/logout', allowed: ['session_editor'],
    run: async (t) => call(t.startsWith(SESSION) ? await signInSession((await createUser(stack, 'editor')).id) : t, 'POST', '/api/v1/sso/logout'),
  },
  { name: 'POST /evaluate (native) in the token environment', allowed: TOKEN_SUBJECTS, unauthenticated: ['session_editor'], run: async (t) => (await stack.request('POST', '/api/v1/evaluate', { token: t, body: { context: { targeting_key: 'u' } }, headers: { 'x-environment': 'staging' } })).status },
  {
    name: 'OFREP bulk evaluate in the token environment', allowed: TOKEN_SUBJECTS, unauthenticated: ['session_editor'],
    run: async (t) => (await stack.request('POST', '/ofrep/v1/evaluate/flags', { token: t, body: { context: { targetingKey: 'u' } }, headers: { 'x-environment': 'staging' } })).status,
  },
  {
    name: 'OFREP evaluate in the token environment', allowed: TOKEN_SUBJECTS, unauthenticated: ['session_editor'],
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
        expected[subject] = testCase.allowed.includes(subject) ? 'allow' : testCase.unauthenticated?.includes(subject) ? 'status 401' : 'deny';
      }
      expect(outcome).toEqual(expected);
    });
  }
});
