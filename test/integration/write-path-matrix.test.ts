import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolloutWorkflowId } from '../../src/temporal/workflow-ids.js';
import { startFakeSlackApi, type FakeSlackApi } from './fake-slack-api.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { FORM, postSlackEvent, slashCommandBody, slackStackEnv } from './slack-helpers.js';

/**
 * One write path: every entry point × every write it can make × the environment's change policy (off;
 * on, covering configs, scheduled changes, rollouts and segments, with restore_requires_approval) ×
 * the caller (allowed: a viewer with flag:kill_switch in the environment and an unconditioned
 * flag:write grant, without bypass; forbidden: a viewer) gives the same decision (applied, requested,
 * refused), the same effect and the same audit event, naming the same actor. Entry points that write
 * by calling another (the admin UI, `ripcord flags apply`, `ripcord import`: all through the HTTP API)
 * are that one; writes an entry point has no way to make are listed in CANNOT, and the table is
 * checked to be complete. A trigger is its own caller, allowed only in its environment; it has no
 * forbidden variant. An approved request applies as its author (the last block). The writes no policy
 * covers and only HTTP makes (flag definitions, pipelines, trigger management, governance) are in
 * write-path-matrix-management.test.ts.
 */

let stack: Stack;
let fakeSlack: FakeSlackApi;
const ENV = 'staging';
const SOURCE_ENV = 'development';
const POLICY = `/api/v1/environments/${ENV}/change-policy`;
const POLICY_ON = { required_approvals: 1, restore_requires_approval: true, covers: ['configs', 'scheduled_changes', 'rollouts', 'segments'] };
const BYPASS = { 'x-change-request-bypass': 'true' };
/** Long enough that a started rollout is still running when the attempt looks at it. */
const PLAN = { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] };

beforeAll(async () => {
  fakeSlack = await startFakeSlackApi();
  stack = await startStack({
    ...slackStackEnv(fakeSlack.url), SLACK_DEFAULT_ENVIRONMENT: ENV,
  });
});
afterAll(async () => {
  if (stack) expect((await stack.request('PUT', POLICY, { body: { required_approvals: 0 } })).status).toBe(200);
  await stack?.close();
  await fakeSlack?.close();
});

type Entry = 'http' | 'slack' | 'trigger';
type Write = 'kill_pull' | 'kill_release' | 'config_put' | 'config_copy' | 'segment_edit' | 'rollout_start' | 'rollout_steer' | 'scheduled_change' | 'flag_patch';
type Policy = 'off' | 'on';
type CallerKind = 'allowed' | 'forbidden';
type Decision = 'applied' | 'requested' | 'refused';
type Events = Array<{ action: string; actor: string }>;

const ENTRIES: Entry[] = ['http', 'slack', 'trigger'];
const WRITES: Write[] = ['kill_pull', 'kill_release', 'config_put', 'config_copy', 'segment_edit', 'rollout_start', 'rollout_steer', 'scheduled_change', 'flag_patch'];

/** What an entry point has no way to ask for, and why: these rows of the matrix are empty on purpose. */
const CANNOT: Record<Entry, Partial<Record<Write, string>>> = {
  http: {},
  slack: {
    config_put: 'Slack has no command that writes a config', config_copy: 'Slack has no command that copies a config',
    segment_edit: 'Slack has no segment command', rollout_start: '/rollout steers a running rollout only',
    scheduled_change: 'Slack has no schedule command', flag_patch: 'Slack has no command that changes a flag’s definition',
  },
  trigger: {
    config_put: 'a trigger only kills and releases', config_copy: 'a trigger only kills and releases', segment_edit: 'a trigger only kills and releases',
    rollout_start: 'a trigger only kills and releases', rollout_steer: 'a trigger only kills and releases (a kill pauses what runs)',
    scheduled_change: 'a trigger only kills and releases', flag_patch: 'a trigger only kills and releases',
  },
};

interface Person { id: string; token: string; slack: { id: string; name: string } }

async function person(role: string, grants: unknown[]): Promise<Person> {
  const slackId = `U0${randomUUID().slice(0, 8).toUpperCase()}`;
  const user = await stack.request('POST', '/api/v1/users', {
    body: { email: `${uniqueKey('wp')}@example.com`, name: `Matrix ${role}`, role, grants, slack_user_id: slackId },
  });
  expect(user.status, JSON.stringify(user.body)).toBe(201);
  const token = await stack.request('POST', '/api/v1/tokens', { body: { name: 't', kind: 'admin', user_id: user.body.id } });
  expect(token.status).toBe(201);
  return { id: user.body.id, token: token.body.token, slack: { id: slackId, name: `matrix-${slackId.toLowerCase()}` } };
}

/** A flag on in the environment (and, when given, targeting a segment there). The admin bypasses the policy: the setup is not under test. */
async function liveFlag(segment?: string): Promise<string> {
  const key = uniqueKey('wp');
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  const targeting = segment ? [{ segments: [segment] }] : [];
  const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/${ENV}`, {
    body: { enabled: true, value: false, off_value: false, targeting, reason: 'matrix setup' }, headers: BYPASS,
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  return key;
}

const flagPath = (key: string, env = ENV) => `/api/v1/flags/${key}/environments/${env}`;
const killed = async (key: string) => (await stack.request('GET', flagPath(key))).body.kill_switch.enabled as boolean;
const adminGet = async (path: string) => {
  const answer = await stack.request('GET', path);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
};

/** One attempt's world: the flag, and what the write needs beside it. */
interface Target { key: string; segment?: string; trigger?: { id: string; path: string }; fingerprint: string }

const alertmanager = (status: 'firing' | 'resolved', fingerprint: string) => ({
  version: '4', status, receiver: 'ripcord', externalURL: 'http://alertmanager:9093',
  alerts: [{ status, labels: { alertname: 'MatrixErrors' }, annotations: {}, startsAt: '2026-11-28T10:00:00Z', generatorURL: 'http://prometheus:9090/graph', fingerprint }],
});

/** A signed Slack slash command; the handlers answer after their ack, so the attempt waits for its audit event instead. */
async function slackCommand(user: Person['slack'], command: string, text: string): Promise<void> {
  const answer = await postSlackEvent(stack.api.url, slashCommandBody(fakeSlack.origin, command, text, user, randomUUID()), { contentType: FORM });
  expect(answer.status).toBe(200);
}
async function slackRestore(user: Person['slack'], key: string): Promise<void> {
  const trigger = randomUUID();
  const payload = {
    type: 'block_actions', team: { id: 'T0TEAM', domain: 'acme' }, user: { id: user.id, username: user.name, name: user.name, team_id: 'T0TEAM' },
    api_app_id: 'A0APP', token: 'legacy', trigger_id: trigger, response_url: `${fakeSlack.origin}/response/${trigger}`,
    container: { type: 'message', message_ts: '1.2', channel_id: 'C0ONCALL', is_ephemeral: false }, channel: { id: 'C0ONCALL', name: 'oncall' },
    actions: [{ type: 'button', action_id: 'ripcord_restore', block_id: 'b1', value: JSON.stringify({ flag: key, environment: ENV }), action_ts: '1.3' }],
  };
  const answer = await postSlackEvent(stack.api.url, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), { contentType: FORM });
  expect(answer.status).toBe(200);
  await eventually(async () => fakeSlack.calls.find((c) => c.path === `/response/${trigger}`), 'the button’s answer');
}
async function hook(target: Target, status: 'firing' | 'resolved'): Promise<void> {
  const answer = await stack.request('POST', target.trigger!.path, { token: null, body: alertmanager(status, target.fingerprint) });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
}

/** A running rollout (started by the admin, bypassing the policy), once its workflow has recorded it. */
async function runningRollout(key: string): Promise<void> {
  const started = await stack.request('POST', `${flagPath(key)}/rollouts`, { body: { plan: PLAN, reason: 'matrix setup' }, headers: BYPASS });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  await eventually(async () => (await adminGet(`${flagPath(key)}/rollouts`)).current?.status === 'running', 'the rollout to run');
}
const rolloutState = (key: string) => stack.temporal.workflow.getHandle(rolloutWorkflowId(ENV, key)).describe().then((d) => d.status.name, () => 'none');

/** How one write is set up, asked for at each entry point that can, and seen: its effect and the audit event it writes when applied. */
interface WriteSpec {
  /** The audit action of the applied write. */
  applied: string;
  /** Whether the policy (as POLICY_ON sets it) turns the write into a change request. */
  covered: boolean;
  setup(entry: Entry): Promise<Target>;
  /** What the write changes, read as the admin: it differs after the attempt exactly when the write applied. */
  state(target: Target): Promise<unknown>;
  /** The resource its events name. */
  resource(target: Target): string;
  http(target: Target, token: string): Promise<number>;
  slack?(target: Target, who: Person['slack']): Promise<void>;
  trigger?(target: Target): Promise<void>;
}

const plainFlag = async (): Promise<Target> => ({ key: await liveFlag(), fingerprint: randomUUID() });
const flagResource = (t: Target) => t.key;
const configVersion = async (t: Target) => (await adminGet(flagPath(t.key))).version;

const SPECS: Record<Write, WriteSpec> = {
  kill_pull: {
    applied: 'kill_switch.activated', covered: false, state: (t) => killed(t.key), resource: flagResource,
    async setup(entry) {
      const target = await plainFlag();
      if (entry === 'trigger') target.trigger = await makeTrigger(target.key);
      return target;
    },
    http: async (t, token) => (await stack.request('POST', `${flagPath(t.key)}/kill-switch`, { token, body: { reason: 'matrix' } })).status,
    slack: (t, who) => slackCommand(who, '/killswitch', `${t.key} matrix`),
    trigger: (t) => hook(t, 'firing'),
  },
  kill_release: {
    applied: 'kill_switch.deactivated', covered: true, state: (t) => killed(t.key), resource: flagResource,
    // The admin kills the flag first; a trigger releases only its own kills, so it kills it itself.
    async setup(entry) {
      const target = await plainFlag();
      if (entry === 'trigger') {
        target.trigger = await makeTrigger(target.key);
        await hook(target, 'firing');
      } else {
        expect((await stack.request('POST', `${flagPath(target.key)}/kill-switch`, { body: { reason: 'matrix setup' } })).status).toBe(201);
      }
      return target;
    },
    http: async (t, token) => (await stack.request('DELETE', `${flagPath(t.key)}/kill-switch`, { token })).status,
    slack: (t, who) => slackRestore(who, t.key),
    trigger: (t) => hook(t, 'resolved'),
  },
  config_put: {
    applied: 'flag.config.updated', covered: true, setup: plainFlag, state: configVersion, resource: flagResource,
    http: async (t, token) => (await stack.request('PUT', flagPath(t.key), { token, body: { enabled: true, value: true, off_value: false, reason: 'matrix' } })).status,
  },
  config_copy: {
    applied: 'flag.config.copied', covered: true, setup: plainFlag, state: configVersion, resource: flagResource,
    http: async (t, token) => (await stack.request('POST', `${flagPath(t.key)}/copy`, { token, body: { from: SOURCE_ENV, reason: 'matrix' } })).status,
  },
  segment_edit: {
    applied: 'segment.updated', covered: true, resource: (t) => t.segment!,
    // Covered only because a live config in the environment targets the segment.
    async setup() {
      const segment = uniqueKey('wp-seg');
      expect((await stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['m1'] } })).status).toBe(201);
      return { key: await liveFlag(segment), segment, fingerprint: randomUUID() };
    },
    state: async (t) => (await adminGet(`/api/v1/segments/${t.segment}`)).version,
    http: async (t, token) => (await stack.request('PUT', `/api/v1/segments/${t.segment}`, { token, body: { members: ['m1', 'm2'], reason: 'matrix' } })).status,
  },
  rollout_start: {
    applied: 'rollout.started', covered: true, setup: plainFlag, state: (t) => rolloutState(t.key), resource: flagResource,
    http: async (t, token) => (await stack.request('POST', `${flagPath(t.key)}/rollouts`, { token, body: { plan: PLAN, reason: 'matrix' } })).status,
  },
  rollout_steer: {
    applied: 'rollout.paused', covered: false, resource: flagResource,
    async setup() {
      const target = await plainFlag();
      await runningRollout(target.key);
      return target;
    },
    state: async (t) => (await adminGet(`${flagPath(t.key)}/rollouts`)).current?.status,
    http: async (t, token) => (await stack.request('POST', `${flagPath(t.key)}/rollouts/current/pause`, { token, body: { reason: 'matrix' } })).status,
    slack: (t, who) => slackCommand(who, '/rollout', `${t.key} pause ${ENV}`),
  },
  scheduled_change: {
    applied: 'scheduled_change.created', covered: true, setup: plainFlag, resource: flagResource,
    state: async (t) => (await adminGet(`${flagPath(t.key)}/scheduled-changes`)).changes.length,
    http: async (t, token) => (await stack.request('POST', `${flagPath(t.key)}/scheduled-changes`, {
      token, body: { at: new Date(Date.now() + 3_600_000).toISOString(), config: { enabled: true, value: true, off_value: false }, reason: 'matrix' },
    })).status,
  },
  // A definition touches every environment alike: no policy covers it.
  flag_patch: {
    applied: 'flag.updated', covered: false, setup: plainFlag, resource: flagResource,
    state: async (t) => (await adminGet(`/api/v1/flags/${t.key}`)).version,
    http: async (t, token) => (await stack.request('PATCH', `/api/v1/flags/${t.key}`, { token, body: { description: 'matrix', reason: 'matrix' } })).status,
  },
};

async function makeTrigger(key: string): Promise<{ id: string; path: string }> {
  const created = await stack.request('POST', `${flagPath(key)}/triggers`, { body: { name: 'matrix', source: 'alertmanager', restore_on_resolved: true } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

const WRITE_EVENTS = [...new Set(Object.values(SPECS).map((s) => s.applied)), 'change_request.created'];
async function eventsSince(resource: string, seq: number): Promise<Events> {
  const { rows } = await stack.db.query('SELECT action, user_id FROM audit_events WHERE resource_id = $1 AND action = ANY($2) AND seq > $3 ORDER BY seq', [resource, WRITE_EVENTS, seq]);
  return rows.map((r: { action: string; user_id: string }) => ({ action: r.action, actor: r.user_id }));
}
const lastSeq = async () => Number((await stack.db.query('SELECT coalesce(max(seq), 0) AS seq FROM audit_events')).rows[0].seq);
const refusedInSlack = async (key: string, seq: number) =>
  ((await stack.db.query(`SELECT 1 FROM audit_events WHERE resource_id = $1 AND action = 'slack.command_refused' AND seq > $2`, [key, seq])).rowCount ?? 0) > 0;

/** Makes one attempt and reports what it did: the decision (read from the effect and the events) and the audit events, with the actor expected in them. */
async function attempt(entry: Entry, write: Write, who: CallerKind, people: Record<CallerKind, Person>): Promise<{ decision: Decision; events: Events; actor: string }> {
  const spec = SPECS[write];
  const target = await spec.setup(entry);
  const caller = people[who];
  const before = await spec.state(target);
  const seq = await lastSeq();
  if (entry === 'http') expect([200, 201, 202, 204, 403]).toContain(await spec.http(target, caller.token));
  else if (entry === 'slack') await spec.slack!(target, caller.slack);
  else await spec.trigger!(target);

  // Slack answers after its ack: wait until the attempt's effect (or refusal) is recorded.
  const events = await eventually(async () => {
    const seen = await eventsSince(spec.resource(target), seq);
    return seen.length > 0 || entry !== 'slack' || (await refusedInSlack(target.key, seq)) ? seen : undefined;
  }, 'the attempt to be recorded');
  const applied = events.some((e) => e.action === spec.applied);
  // The effect of an applied write may show a moment later (a workflow's read model, Temporal's visibility).
  if (applied) await eventually(async () => JSON.stringify(await spec.state(target)) !== JSON.stringify(before), `the effect of ${write}`);
  else expect(await spec.state(target)).toEqual(before);
  const decision: Decision = applied ? 'applied' : events.some((e) => e.action === 'change_request.created') ? 'requested' : 'refused';
  return { decision, events, actor: target.trigger ? `trigger:${target.trigger.id}` : caller.id };
}

/** What every entry point must do for one (write, policy, caller). */
function expected(write: Write, policy: Policy, who: CallerKind, actor: string): { decision: Decision; events: Events } {
  if (who === 'forbidden') return { decision: 'refused', events: [] };
  const spec = SPECS[write];
  return policy === 'on' && spec.covered
    ? { decision: 'requested', events: [{ action: 'change_request.created', actor }] }
    : { decision: 'applied', events: [{ action: spec.applied, actor }] };
}

let people: Record<CallerKind, Person>;
beforeAll(async () => {
  people = {
    allowed: await person('viewer', [
      { resource: 'flag', action: 'kill_switch', conditions: { environments: [ENV] } },
      { resource: 'flag', action: 'write', conditions: {} },
    ]),
    forbidden: await person('viewer', []),
  };
});

describe('one write path: every entry point × every write', () => {
  it('lists every entry point × write as either made below or impossible for that entry point', () => {
    for (const entry of ENTRIES) {
      for (const write of WRITES) {
        const runs = typeof SPECS[write][entry] === 'function';
        expect(runs !== (CANNOT[entry][write] !== undefined), `${entry} × ${write}: either a way to make it or a reason it has none`).toBe(true);
      }
    }
  });

  for (const policy of ['off', 'on'] as const) {
    describe(`policy ${policy}`, () => {
      beforeAll(async () => {
        expect((await stack.request('PUT', POLICY, { body: policy === 'on' ? POLICY_ON : { required_approvals: 0 } })).status).toBe(200);
      });
      for (const write of WRITES) {
        for (const entry of ENTRIES.filter((e) => CANNOT[e][write] === undefined)) {
          for (const who of entry === 'trigger' ? (['allowed'] as const) : (['allowed', 'forbidden'] as const)) {
            it(`${entry} × ${write} × ${who}`, async () => {
              const { actor, ...observed } = await attempt(entry, write, who, people);
              expect(observed).toEqual(expected(write, policy, who, actor));
            });
          }
        }
      }
    });
  }
});

describe('one write path: around the matrix', () => {
  beforeAll(async () => {
    expect((await stack.request('PUT', POLICY, { body: POLICY_ON })).status).toBe(200);
  });

  it('Slack has no command for a write it may not make: `/rollout <flag> start` is refused as unknown and writes nothing', async () => {
    const key = await liveFlag();
    const seq = await lastSeq();
    await slackCommand(people.allowed.slack, '/rollout', `${key} start ${ENV}`);
    const answer = await eventually(async () => fakeSlack.calls.find((c) => c.path.startsWith('/response/') && String(c.body.text ?? '').includes('`start`')), 'the reply');
    expect(String(answer.body.text)).toMatch(/^Unknown action `start`/);
    expect(await eventsSince(key, seq)).toEqual([]);
    expect(await rolloutState(key)).toBe('none');
  });

  it('a bypass (the right and a reason) releases directly and says so; without the right it is refused', async () => {
    const responder = await person('emergency_responder', []);
    const key = await liveFlag();
    const path = `${flagPath(key)}/kill-switch`;
    expect((await stack.request('POST', path, { body: { reason: 'matrix setup' } })).status).toBe(201);
    const noRight = await stack.request('DELETE', path, { token: people.allowed.token, headers: BYPASS, body: { reason: 'incident over' } });
    expect(noRight.status).toBe(403);
    // Invisible characters are no reason.
    const invisible = await stack.request('DELETE', path, { token: responder.token, headers: BYPASS, body: { reason: '\u200b\u2060' } });
    expect(invisible.status, JSON.stringify(invisible.body)).toBe(400);
    expect(await killed(key)).toBe(true);
    const seq = await lastSeq();
    const released = await stack.request('DELETE', path, { token: responder.token, headers: BYPASS, body: { reason: 'incident over' } });
    expect(released.status, JSON.stringify(released.body)).toBe(200);
    expect(await eventsSince(key, seq)).toEqual([{ action: 'kill_switch.deactivated', actor: responder.id }]);
    const { rows } = await stack.db.query(`SELECT reason FROM audit_events WHERE resource_id = $1 AND action = 'kill_switch.deactivated'`, [key]);
    expect(rows[0].reason).toBe('[change policy bypassed] incident over');
  });

  it('a trigger’s repeated resolve makes one request, and the approved request releases the kill as the trigger', async () => {
    const key = await liveFlag();
    const target: Target = { key, trigger: await makeTrigger(key), fingerprint: 'fp' };
    await hook(target, 'firing');
    const first = await stack.request('POST', target.trigger!.path, { token: null, body: alertmanager('resolved', 'fp') });
    expect(first.body).toMatchObject({ action: 'restore_requested', change_request: { status: 'pending' } });
    const again = await stack.request('POST', target.trigger!.path, { token: null, body: alertmanager('resolved', 'fp') });
    expect(again.body.change_request.id).toBe(first.body.change_request.id);
    const approver = await person('editor', []);
    const approved = await stack.request('POST', `/api/v1/change-requests/${first.body.change_request.id}/approve`, { token: approver.token, body: {} });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    await eventually(async () => (await killed(key)) === false, 'the approved release');
    const { rows } = await stack.db.query(`SELECT user_id FROM audit_events WHERE resource_id = $1 AND action = 'kill_switch.deactivated'`, [key]);
    expect(rows).toEqual([{ user_id: `trigger:${target.trigger!.id}` }]);
  });

  // The change-request apply is an entry point too: what the policy held back applies, once approved, as
  // the write would have, audited as its author (scheduled changes apply at their time; kill releases above).
  for (const write of ['config_put', 'config_copy', 'segment_edit', 'rollout_start'] as const) {
    it(`change-request apply × ${write}: the approved request applies with the write's own audit event, naming its author`, async () => {
      const spec = SPECS[write];
      const target = await spec.setup('http');
      const before = await spec.state(target);
      expect(await spec.http(target, people.allowed.token)).toBe(202);
      const [request] = (await adminGet(`/api/v1/change-requests?${write === 'segment_edit' ? `segment=${target.segment}` : `flag=${target.key}`}&status=pending`)).change_requests;
      const seq = await lastSeq();
      const approver = await person('editor', []);
      const approved = await stack.request('POST', `/api/v1/change-requests/${request.id}/approve`, { token: approver.token, body: {} });
      expect(approved.status, JSON.stringify(approved.body)).toBe(200);
      await eventually(async () => (await adminGet(`/api/v1/change-requests/${request.id}`)).status === 'applied', 'the approved request to apply');
      expect(await spec.state(target)).not.toEqual(before);
      const applied = (await eventsSince(spec.resource(target), seq)).filter((e) => e.action === spec.applied);
      expect(applied).toEqual([{ action: spec.applied, actor: people.allowed.id }]);
    });
  }
});
