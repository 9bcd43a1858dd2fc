import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';

/**
 * One write path, the management writes: a flag's definition (create, archive, unarchive, delete), a
 * release pipeline (start, steer), an alert trigger's management (create, disable, rotate its secret, test
 * alert, delete)
 * and the governance writes (users, grants, tokens, webhooks, change policies, release templates, code
 * references) × every entry point × the change policy (off; on in the environment they act in, as
 * write-path-matrix.test.ts sets it) × the caller (the one allowed; one just short of it — a role
 * below, or a grant that gives something else; a server token of the environment) gives the same
 * decision, the same effect and the same one audit event naming the caller. No policy covers these
 * writes, so the policy changes none of these answers; Slack and alert triggers can make none of them
 * (CANNOT, checked to be complete). A pipeline started under a policy waits at its policy gate: the
 * start itself is the same (release-pipelines-api.test.ts tests the gate).
 */

let stack: Stack;
const ENV = 'staging';
const POLICY = `/api/v1/environments/${ENV}/change-policy`;
const POLICY_ON = { required_approvals: 1, restore_requires_approval: true, covers: ['configs', 'scheduled_changes', 'rollouts', 'segments'] };
const BYPASS = { 'x-change-request-bypass': 'true' };
const PHASES = [{ environment: ENV, plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] } }];

type Entry = 'http' | 'slack' | 'trigger';
type Who = 'viewer' | 'granted' | 'editor' | 'admin' | 'server';
type Policy = 'off' | 'on';
type Decision = 'applied' | 'refused';
type Events = Array<{ action: string; actor: string }>;

const ENTRIES: Entry[] = ['http', 'slack', 'trigger'];
const WRITES = [
  'flag_create', 'flag_archive', 'flag_unarchive', 'flag_delete', 'pipeline_start', 'pipeline_steer',
  'trigger_create', 'trigger_disable', 'trigger_rotate', 'trigger_test', 'trigger_delete',
  'user_create', 'user_update', 'user_grants', 'user_deactivate', 'token_create', 'token_revoke',
  'webhook_create', 'webhook_update', 'webhook_delete', 'policy_set', 'template_create', 'template_replace', 'template_delete', 'code_references_upload',
] as const;
type Write = (typeof WRITES)[number];

/** Why Slack and a trigger's hook make none of these writes: what each can do, checked against their code below. */
const CANNOT: Record<Exclude<Entry, 'http'>, string> = {
  slack: 'Slack’s commands and buttons kill, restore, read a flag, steer a rollout and approve or reject a change request: nothing else',
  trigger: 'a trigger’s hook reaches the kill switch commands only: it kills and releases its own flag',
};
/** Every Slack command and button, and what it does (none of them one of WRITES). */
const SLACK_SURFACE: Record<string, string> = {
  '/killswitch': 'pulls a kill switch', RESTORE_ACTION: 'releases a kill switch', '/flag': 'reads a flag',
  '/rollout': 'steers a running rollout', actionId: 'approves or rejects a change request',
};
const ROOT = new URL('../../', import.meta.url).pathname;

interface Person { id: string; token: string }
let people: Record<Who, Person>;

async function adminCall(method: string, path: string, body?: unknown): ReturnType<Stack['request']> {
  const answer = await stack.request(method, path, { body });
  expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
  return answer;
}
const status = async (path: string) => (await stack.request('GET', path)).status;

async function person(role: string, grants: unknown[] = []): Promise<Person> {
  const user = await adminCall('POST', '/api/v1/users', { email: `${uniqueKey('wpm')}@example.com`, name: `Matrix ${role}`, role, grants });
  const token = await adminCall('POST', '/api/v1/tokens', { name: 't', kind: 'admin', user_id: user.body.id });
  return { id: user.body.id, token: token.body.token };
}

/** One attempt's world: the flag and whatever the write acts on (an id, a name). */
interface Target { key: string; id?: string; name?: string; toggle?: boolean }

async function flag(): Promise<string> {
  const key = uniqueKey('wpm');
  await adminCall('POST', '/api/v1/flags', { key, name: key, type: 'boolean' });
  return key;
}
async function archivedFlag(): Promise<Target> {
  const key = await flag();
  await adminCall('POST', `/api/v1/flags/${key}/archive`);
  return { key };
}
const flagPath = (key: string) => `/api/v1/flags/${key}/environments/${ENV}`;
const triggersOf = async (key: string) => (await adminCall('GET', `${flagPath(key)}/triggers`)).body.triggers as Array<{ id: string; name: string; enabled: boolean }>;
async function withTrigger(): Promise<Target> {
  const key = await flag();
  await adminCall('PUT', flagPath(key), { enabled: true, value: false, off_value: false, reason: 'matrix setup' });
  const trigger = await adminCall('POST', `${flagPath(key)}/triggers`, { name: 'matrix', source: 'alertmanager' });
  return { key, id: trigger.body.id };
}
let template: string | undefined;
async function matrixTemplate(): Promise<string> {
  template ??= (await adminCall('POST', '/api/v1/release-templates', { name: uniqueKey('wpm-tpl'), phases: PHASES })).body.name as string;
  return template;
}
const pipelinesOf = async (key: string) => (await adminCall('GET', `/api/v1/flags/${key}/pipelines`)).body.pipelines as Array<{ paused_reason: string | null; phases: Array<{ status: string }> }>;
const idWhere = async (sql: string, value: string) => ((await stack.db.query(sql, [value])).rows[0]?.id as string | undefined) ?? null;

/** How one write is set up, made over HTTP, and seen: its effect and the audit event it writes. */
interface WriteSpec {
  applied: string;
  /** The caller allowed to make it, and one just short of that (a server token is tried too). */
  allowed: Who;
  forbidden: Who;
  /** What a refused caller gets: 403, or 404 where the write hides what the caller may not see. */
  refusal?: number;
  setup(): Promise<Target>;
  state(t: Target): Promise<unknown>;
  /** The resource its event names; null while it does not exist (a refused create). */
  resource(t: Target): Promise<string | null> | string;
  http(t: Target, token: string): Promise<number>;
}

const call = async (token: string, method: string, path: string, body?: unknown) => (await stack.request(method, path, { token, body })).status;
const byKey = (t: Target) => t.key;
const byId = (t: Target) => t.id!;
const byName = (t: Target) => t.name!;
const flagVersion = async (t: Target) => (await adminCall('GET', `/api/v1/flags/${t.key}`)).body.version;
const user = async (t: Target) => (await adminCall('GET', `/api/v1/users/${t.id}`)).body;
const newUser = async (): Promise<Target> => ({ key: '', id: (await adminCall('POST', '/api/v1/users', { email: `${uniqueKey('wpm-u')}@example.com`, name: 'Target', role: 'viewer' })).body.id });
const webhook = async (t: Target) => (await adminCall('GET', '/api/v1/webhooks')).body.webhooks.find((w: { id: string }) => w.id === t.id) ?? null;
const newWebhook = async (): Promise<Target> => ({ key: '', id: (await adminCall('POST', '/api/v1/webhooks', { url: `http://127.0.0.1:9/${uniqueKey('wpm')}`, events: ['flag.updated'], enabled: false })).body.id });
const templateState = async (t: Target) => {
  const answer = await stack.request('GET', `/api/v1/release-templates/${t.name}`);
  return answer.status === 200 ? answer.body.version : answer.status;
};
const newTemplate = async (): Promise<Target> => ({ key: '', name: (await adminCall('POST', '/api/v1/release-templates', { name: uniqueKey('wpm-tpl'), phases: PHASES })).body.name });

const SPECS: Record<Write, WriteSpec> = {
  flag_create: {
    applied: 'flag.created', allowed: 'granted', forbidden: 'viewer', resource: byKey,
    setup: async () => ({ key: uniqueKey('wpm') }),
    state: (t) => status(`/api/v1/flags/${t.key}`),
    http: (t, token) => call(token, 'POST', '/api/v1/flags', { key: t.key, name: t.key, type: 'boolean', reason: 'matrix' }),
  },
  // Archiving takes flag:delete, which a flag:write grant does not give.
  flag_archive: {
    applied: 'flag.archived', allowed: 'editor', forbidden: 'granted', resource: byKey, state: flagVersion,
    setup: async () => ({ key: await flag() }),
    http: (t, token) => call(token, 'POST', `/api/v1/flags/${t.key}/archive`, { reason: 'matrix' }),
  },
  flag_unarchive: {
    applied: 'flag.unarchived', allowed: 'editor', forbidden: 'granted', resource: byKey, state: flagVersion, setup: archivedFlag,
    http: (t, token) => call(token, 'POST', `/api/v1/flags/${t.key}/unarchive`, { reason: 'matrix' }),
  },
  flag_delete: {
    applied: 'flag.deleted', allowed: 'editor', forbidden: 'granted', resource: byKey, setup: archivedFlag,
    state: (t) => status(`/api/v1/flags/${t.key}`),
    http: (t, token) => call(token, 'DELETE', `/api/v1/flags/${t.key}`, { reason: 'matrix' }),
  },
  pipeline_start: {
    applied: 'pipeline.started', allowed: 'granted', forbidden: 'viewer', resource: byKey,
    setup: async () => ({ key: await flag(), name: await matrixTemplate() }),
    state: async (t) => (await pipelinesOf(t.key)).length,
    http: (t, token) => call(token, 'POST', `/api/v1/flags/${t.key}/pipelines`, { template: t.name, reason: 'matrix' }),
  },
  // The setup's start bypasses the policy (the admin, with a reason) so that the pipeline runs.
  pipeline_steer: {
    applied: 'pipeline.paused', allowed: 'granted', forbidden: 'viewer', resource: byKey,
    async setup() {
      const key = await flag();
      expect((await stack.request('POST', `/api/v1/flags/${key}/pipelines`, { body: { template: await matrixTemplate(), reason: 'matrix setup' }, headers: BYPASS })).status).toBe(201);
      await eventually(async () => (await pipelinesOf(key))[0]?.phases[0]?.status === 'running', 'the pipeline’s phase to run');
      return { key };
    },
    state: async (t) => (await pipelinesOf(t.key))[0]?.paused_reason,
    http: (t, token) => call(token, 'POST', `/api/v1/flags/${t.key}/pipelines/current/pause`, { reason: 'matrix' }),
  },
  // Managing a trigger takes flag:kill_switch in its environment (a trigger kills for whoever made it).
  trigger_create: {
    applied: 'trigger.created', allowed: 'granted', forbidden: 'editor',
    setup: async () => ({ key: await flag(), name: uniqueKey('trigger') }),
    resource: async (t) => (await triggersOf(t.key)).find((trigger) => trigger.name === t.name)?.id ?? null,
    state: async (t) => (await triggersOf(t.key)).length,
    http: (t, token) => call(token, 'POST', `${flagPath(t.key)}/triggers`, { name: t.name, source: 'alertmanager' }),
  },
  trigger_disable: {
    applied: 'trigger.disabled', allowed: 'granted', forbidden: 'editor', resource: byId, setup: withTrigger,
    state: async (t) => (await triggersOf(t.key)).find((trigger) => trigger.id === t.id)?.enabled,
    http: (t, token) => call(token, 'PATCH', `/api/v1/triggers/${t.id}`, { enabled: false }),
  },
  // The old URL stops working: the state is whether it still finds the trigger.
  trigger_rotate: {
    applied: 'trigger.secret_rotated', allowed: 'granted', forbidden: 'editor', resource: byId,
    async setup() {
      const key = await flag();
      const trigger = await adminCall('POST', `${flagPath(key)}/triggers`, { name: 'matrix', source: 'generic' });
      return { key, id: trigger.body.id, name: trigger.body.path };
    },
    state: async (t) => (await stack.request('POST', t.name!, { token: null, body: { status: 'resolved', alerts: [] } })).status,
    http: (t, token) => call(token, 'POST', `/api/v1/triggers/${t.id}/rotate-secret`),
  },
  // A test alert does what a real one would: the trigger kills the flag.
  trigger_test: {
    applied: 'trigger.test_sent', allowed: 'granted', forbidden: 'editor', resource: byId, setup: withTrigger,
    state: async (t) => (await adminCall('GET', flagPath(t.key))).body.kill_switch.enabled,
    http: (t, token) => call(token, 'POST', `/api/v1/triggers/${t.id}/test`),
  },
  trigger_delete: {
    applied: 'trigger.deleted', allowed: 'granted', forbidden: 'editor', resource: byId, setup: withTrigger,
    state: async (t) => (await triggersOf(t.key)).length,
    http: (t, token) => call(token, 'DELETE', `/api/v1/triggers/${t.id}`),
  },
  // Users and grants: user:write, which only admins hold (no grant gives it).
  user_create: {
    applied: 'user.created', allowed: 'admin', forbidden: 'editor',
    setup: async () => ({ key: '', name: `${uniqueKey('wpm-new')}@example.com` }),
    resource: (t) => idWhere('SELECT id::text AS id FROM users WHERE email = $1', t.name!),
    state: async (t) => (await stack.db.query('SELECT count(*)::int AS n FROM users WHERE email = $1', [t.name])).rows[0].n,
    http: (t, token) => call(token, 'POST', '/api/v1/users', { email: t.name, name: 'New', role: 'viewer', reason: 'matrix' }),
  },
  user_update: {
    applied: 'user.updated', allowed: 'admin', forbidden: 'editor', resource: byId, setup: newUser,
    state: async (t) => (await user(t)).role,
    http: (t, token) => call(token, 'PATCH', `/api/v1/users/${t.id}`, { role: 'editor', reason: 'matrix' }),
  },
  user_grants: {
    applied: 'user.grants.updated', allowed: 'admin', forbidden: 'editor', resource: byId, setup: newUser,
    state: async (t) => (await user(t)).grants,
    http: (t, token) => call(token, 'PUT', `/api/v1/users/${t.id}/grants`, { grants: [{ resource: 'flag', action: 'write', conditions: { environments: [ENV] } }], reason: 'matrix' }),
  },
  user_deactivate: {
    applied: 'user.deactivated', allowed: 'admin', forbidden: 'editor', resource: byId, setup: newUser,
    state: async (t) => (await user(t)).deactivated_at,
    http: (t, token) => call(token, 'DELETE', `/api/v1/users/${t.id}`, { reason: 'matrix' }),
  },
  // A server token needs environment:write in its environment (editors have it, viewers and flag grants don't).
  token_create: {
    applied: 'token.created', allowed: 'editor', forbidden: 'granted',
    setup: async () => ({ key: '', name: uniqueKey('wpm-token') }),
    resource: (t) => idWhere('SELECT id::text AS id FROM api_tokens WHERE name = $1', t.name!),
    state: async (t) => (await stack.db.query('SELECT count(*)::int AS n FROM api_tokens WHERE name = $1', [t.name])).rows[0].n,
    http: (t, token) => call(token, 'POST', '/api/v1/tokens', { name: t.name, kind: 'server', environment: ENV, reason: 'matrix' }),
  },
  // Admins revoke any token; anyone else sees only their own and those they made: another's is unknown to them.
  token_revoke: {
    applied: 'token.revoked', allowed: 'admin', forbidden: 'editor', refusal: 404, resource: byId,
    setup: async () => ({ key: '', id: (await adminCall('POST', '/api/v1/tokens', { name: uniqueKey('wpm-token'), kind: 'client', environment: ENV })).body.id }),
    state: async (t) => (await adminCall('GET', `/api/v1/tokens/${t.id}`)).body.revoked_at,
    http: (t, token) => call(token, 'DELETE', `/api/v1/tokens/${t.id}`, { reason: 'matrix' }),
  },
  // Webhooks, change policies: admins only. The webhooks stay disabled: nothing is delivered.
  webhook_create: {
    applied: 'webhook.created', allowed: 'admin', forbidden: 'editor',
    setup: async () => ({ key: '', name: `http://127.0.0.1:9/${uniqueKey('wpm')}` }),
    resource: (t) => idWhere('SELECT id::text AS id FROM webhooks WHERE url = $1', t.name!),
    state: async (t) => (await stack.db.query('SELECT count(*)::int AS n FROM webhooks WHERE url = $1', [t.name])).rows[0].n,
    http: (t, token) => call(token, 'POST', '/api/v1/webhooks', { url: t.name, events: ['flag.updated'], enabled: false }),
  },
  webhook_update: {
    applied: 'webhook.updated', allowed: 'admin', forbidden: 'editor', resource: byId, setup: newWebhook,
    state: async (t) => (await webhook(t))?.events,
    http: (t, token) => call(token, 'PATCH', `/api/v1/webhooks/${t.id}`, { events: ['flag.killed'] }),
  },
  webhook_delete: {
    applied: 'webhook.deleted', allowed: 'admin', forbidden: 'editor', resource: byId, setup: newWebhook,
    state: async (t) => (await webhook(t)) !== null,
    http: (t, token) => call(token, 'DELETE', `/api/v1/webhooks/${t.id}`),
  },
  // Another environment's policy (this file's own policy switch is staging's); the write flips one setting.
  policy_set: {
    applied: 'change_policy.updated', allowed: 'admin', forbidden: 'editor', resource: () => 'development',
    setup: async () => ({ key: '', toggle: !(await adminCall('GET', '/api/v1/environments/development/change-policy')).body.restore_requires_approval }),
    state: async () => (await adminCall('GET', '/api/v1/environments/development/change-policy')).body.restore_requires_approval,
    http: (t, token) => call(token, 'PUT', '/api/v1/environments/development/change-policy', { required_approvals: 0, restore_requires_approval: t.toggle, reason: 'matrix' }),
  },
  // Templates and code references: the editor and admin roles (a flag:write grant gives neither).
  template_create: {
    applied: 'release_template.created', allowed: 'editor', forbidden: 'granted', resource: byName, state: templateState,
    setup: async () => ({ key: '', name: uniqueKey('wpm-tpl') }),
    http: (t, token) => call(token, 'POST', '/api/v1/release-templates', { name: t.name, phases: PHASES }),
  },
  template_replace: {
    applied: 'release_template.updated', allowed: 'editor', forbidden: 'granted', resource: byName, state: templateState, setup: newTemplate,
    http: (t, token) => call(token, 'PUT', `/api/v1/release-templates/${t.name}`, { description: 'matrix', phases: PHASES }),
  },
  template_delete: {
    applied: 'release_template.deleted', allowed: 'editor', forbidden: 'granted', resource: byName, state: templateState, setup: newTemplate,
    http: (t, token) => call(token, 'DELETE', `/api/v1/release-templates/${t.name}`),
  },
  code_references_upload: {
    applied: 'code_references.uploaded', allowed: 'editor', forbidden: 'granted', resource: byName,
    setup: async () => ({ key: await flag(), name: uniqueKey('acme/wpm') }),
    state: async (t) => (await adminCall('GET', `/api/v1/flags/${t.key}/code-references`)).body,
    http: (t, token) => call(token, 'PUT', '/api/v1/code-references', { repository: t.name, references: [{ flag: t.key, path: 'src/a.ts', line: 1, kind: 'call' }] }),
  },
};

const WRITE_EVENTS = [...new Set(Object.values(SPECS).map((s) => s.applied)), 'change_request.created'];
const lastSeq = async () => Number((await stack.db.query('SELECT coalesce(max(seq), 0) AS seq FROM audit_events')).rows[0].seq);
async function eventsSince(resource: string | null, seq: number): Promise<Events> {
  if (resource === null) return [];
  const { rows } = await stack.db.query('SELECT action, user_id FROM audit_events WHERE resource_id = $1 AND action = ANY($2) AND seq > $3 ORDER BY seq', [resource, WRITE_EVENTS, seq]);
  return rows.map((r: { action: string; user_id: string }) => ({ action: r.action, actor: r.user_id }));
}

/** Makes one attempt over HTTP and reports what it did: the decision (from the effect and the events), the status and the events. */
async function attempt(write: Write, who: Who): Promise<{ decision: Decision; status: number; events: Events }> {
  const spec = SPECS[write];
  const target = await spec.setup();
  const before = await spec.state(target);
  const seq = await lastSeq();
  const answered = await spec.http(target, people[who].token);
  const events = await eventsSince(await spec.resource(target), seq);
  const applied = events.some((e) => e.action === spec.applied);
  // The effect of an applied write may show a moment later (a workflow's read model, a kill's projection).
  if (applied) await eventually(async () => JSON.stringify(await spec.state(target)) !== JSON.stringify(before), `the effect of ${write}`);
  else expect(await spec.state(target)).toEqual(before);
  return { decision: applied ? 'applied' : 'refused', status: answered, events };
}

beforeAll(async () => {
  stack = await startStack();
  const server = await adminCall('POST', '/api/v1/tokens', { name: 'matrix server', kind: 'server', environment: ENV });
  people = {
    viewer: await person('viewer'),
    // A viewer who may write any flag and pull kill switches in the environment: rights by grants, not by role.
    granted: await person('viewer', [
      { resource: 'flag', action: 'kill_switch', conditions: { environments: [ENV] } },
      { resource: 'flag', action: 'write', conditions: {} },
    ]),
    editor: await person('editor'),
    admin: await person('admin'),
    server: { id: `token:${server.body.id}`, token: server.body.token },
  };
});
afterAll(async () => {
  if (stack) expect((await stack.request('PUT', POLICY, { body: { required_approvals: 0 } })).status).toBe(200);
  await stack?.close();
});

describe('one write path, management writes: every entry point × every write', () => {
  it('makes every write over HTTP; Slack and the trigger hook have no way to make any (their code says so)', () => {
    expect(Object.keys(SPECS).sort()).toEqual([...WRITES].sort());
    expect(ENTRIES.filter((entry) => entry !== 'http').every((entry) => CANNOT[entry as Exclude<Entry, 'http'>])).toBe(true);
    // A new Slack command or button must be added to SLACK_SURFACE, and to the matrix if it writes.
    const slackSource = readdirSync(`${ROOT}slack`).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(`${ROOT}slack/${f}`, 'utf8')).join('\n');
    const registered = [...slackSource.matchAll(/\bapp\.(?:command|action|view|shortcut|message|event)\(\s*'?([\w/]+)'?/g)].map((m) => m[1]);
    expect(registered.sort()).toEqual(Object.keys(SLACK_SURFACE).sort());
    // The hook's service reaches no other service than the kill switch's commands.
    const hook = readFileSync(`${ROOT}src/alert-triggers/alert-trigger-service.ts`, 'utf8');
    expect([...new Set([...hook.matchAll(/\bdeps\.(\w+)/g)].map((m) => m[1]))].sort()).toEqual(['authFailures', 'killSwitch']);
  });

  for (const policy of ['off', 'on'] as const satisfies readonly Policy[]) {
    describe(`policy ${policy}`, () => {
      beforeAll(async () => {
        expect((await stack.request('PUT', POLICY, { body: policy === 'on' ? POLICY_ON : { required_approvals: 0 } })).status).toBe(200);
      });
      for (const write of WRITES) {
        const spec = SPECS[write];
        it(`http × ${write} × allowed (${spec.allowed})`, async () => {
          const observed = await attempt(write, spec.allowed);
          expect(observed.status).toBeLessThan(300);
          expect(observed).toMatchObject({ decision: 'applied', events: [{ action: spec.applied, actor: people[spec.allowed].id }] });
        });
        for (const who of [spec.forbidden, 'server'] as const) {
          it(`http × ${write} × forbidden (${who})`, async () => {
            // A token that may manage nothing is told so (403), whatever the write hides from users.
            expect(await attempt(write, who)).toEqual({ decision: 'refused', status: who === 'server' ? 403 : spec.refusal ?? 403, events: [] });
          });
        }
      }
    });
  }
});
