import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSlackApi, type FakeSlackApi } from './fake-slack-api.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { FORM, postSlackEvent, SIGNING_SECRET, slashCommandBody } from './slack-helpers.js';

/**
 * One write path: every entry point that can pull or release a kill switch (the HTTP route, which the
 * admin UI calls; Slack's /killswitch and Restore button; an alert trigger's hook) × the write (pull,
 * release) × the environment's change policy (off; on with restore_requires_approval) × the caller
 * (allowed: a flag:kill_switch grant for the environment, without bypass; forbidden: a viewer) gives
 * the same decision (applied, requested, refused) and the same audit event, naming the same actor.
 * A trigger is its own caller, allowed only in its environment; it has no forbidden variant.
 */

let stack: Stack;
let fakeSlack: FakeSlackApi;
const ENV = 'staging';
const POLICY = `/api/v1/environments/${ENV}/change-policy`;

beforeAll(async () => {
  fakeSlack = await startFakeSlackApi();
  stack = await startStack({
    SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: fakeSlack.url,
    SLACK_BOT_ID: 'B0TEST', SLACK_BOT_USER_ID: 'U0BOT', SLACK_DEFAULT_ENVIRONMENT: ENV,
  });
});
afterAll(async () => {
  if (stack) expect((await stack.request('PUT', POLICY, { body: { required_approvals: 0 } })).status).toBe(200);
  await stack?.close();
  await fakeSlack?.close();
});

type Decision = 'applied' | 'requested' | 'refused';
/** What one attempt did: the decision, and the audit events it wrote (action and actor), as every entry point must agree on them. */
interface Observed { decision: Decision; events: Array<{ action: string; actor: string }> }

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

async function liveFlag(): Promise<string> {
  const key = uniqueKey('wp');
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  // The admin bypasses a policy covering configs: the setup is not under test.
  const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/${ENV}`, {
    body: { enabled: true, value: true, off_value: false, reason: 'matrix setup' }, headers: { 'x-change-request-bypass': 'true' },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  return key;
}

const killed = async (key: string) => (await stack.request('GET', `/api/v1/flags/${key}/environments/${ENV}`)).body.kill_switch.enabled as boolean;

const WRITE_EVENTS = ['kill_switch.activated', 'kill_switch.deactivated', 'change_request.created'];
async function eventsSince(key: string, seq: number): Promise<Observed['events']> {
  const { rows } = await stack.db.query(
    'SELECT action, user_id FROM audit_events WHERE resource_id = $1 AND environment = $2 AND action = ANY($3) AND seq > $4 ORDER BY seq',
    [key, ENV, WRITE_EVENTS, seq],
  );
  return rows.map((r: { action: string; user_id: string }) => ({ action: r.action, actor: r.user_id }));
}
const lastSeq = async () => Number((await stack.db.query('SELECT coalesce(max(seq), 0) AS seq FROM audit_events')).rows[0].seq);

/** A signed Slack payload or command, and the answer Slack's response_url got (the handlers answer there after their ack). */
async function slackCommand(user: Person['slack'], text: string): Promise<string> {
  const trigger = randomUUID();
  const answer = await postSlackEvent(stack.api.url, slashCommandBody(fakeSlack.origin, '/killswitch', text, user, trigger), { contentType: FORM });
  expect(answer.status).toBe(200);
  return String(answer.body.text ?? '');
}
async function slackRestore(user: Person['slack'], key: string): Promise<string> {
  const trigger = randomUUID();
  const payload = {
    type: 'block_actions', team: { id: 'T0TEAM', domain: 'acme' }, user: { id: user.id, username: user.name, name: user.name, team_id: 'T0TEAM' },
    api_app_id: 'A0APP', token: 'legacy', trigger_id: trigger, response_url: `${fakeSlack.origin}/response/${trigger}`,
    container: { type: 'message', message_ts: '1.2', channel_id: 'C0ONCALL', is_ephemeral: false }, channel: { id: 'C0ONCALL', name: 'oncall' },
    actions: [{ type: 'button', action_id: 'ripcord_restore', block_id: 'b1', value: JSON.stringify({ flag: key, environment: ENV }), action_ts: '1.3' }],
  };
  const answer = await postSlackEvent(stack.api.url, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), { contentType: FORM });
  expect(answer.status).toBe(200);
  return eventually(async () => fakeSlack.calls.find((c) => c.path === `/response/${trigger}`)?.body.text as string | undefined, 'the button’s answer');
}

const alertmanager = (status: 'firing' | 'resolved', fingerprint: string) => ({
  version: '4', status, receiver: 'ripcord', externalURL: 'http://alertmanager:9093',
  alerts: [{ status, labels: { alertname: 'MatrixErrors' }, annotations: {}, startsAt: '2026-11-28T10:00:00Z', generatorURL: 'http://prometheus:9090/graph', fingerprint }],
});

type Entry = 'http' | 'slack' | 'trigger';
type Write = 'pull' | 'release';
type CallerKind = 'allowed' | 'forbidden';

/**
 * Makes one attempt and reports what happened. A release starts from a flag the admin killed (the
 * trigger's from one it killed itself: it releases only its own kills); a pull from a live flag.
 */
async function attempt(entry: Entry, write: Write, who: CallerKind, people: Record<CallerKind, Person>): Promise<Observed & { actor: string }> {
  const key = await liveFlag();
  const caller = people[who];
  let trigger: { id: string; path: string } | undefined;
  if (entry === 'trigger') {
    const created = await stack.request('POST', `/api/v1/flags/${key}/environments/${ENV}/triggers`, { body: { name: 'matrix', source: 'alertmanager', restore_on_resolved: true } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    trigger = created.body;
  }
  const fingerprint = randomUUID();
  if (write === 'release') {
    if (trigger) expect((await stack.request('POST', trigger.path, { token: null, body: alertmanager('firing', fingerprint) })).body.action).toBe('kill');
    else expect((await stack.request('POST', `/api/v1/flags/${key}/environments/${ENV}/kill-switch`, { body: { reason: 'matrix setup' } })).status).toBe(201);
  }
  const before = await killed(key);
  const seq = await lastSeq();
  const actor = trigger ? `trigger:${trigger.id}` : caller.id;

  if (entry === 'http') {
    const path = `/api/v1/flags/${key}/environments/${ENV}/kill-switch`;
    const answer = write === 'pull'
      ? await stack.request('POST', path, { token: caller.token, body: { reason: 'matrix' } })
      : await stack.request('DELETE', path, { token: caller.token });
    expect([200, 201, 202, 403], JSON.stringify(answer.body)).toContain(answer.status);
  } else if (entry === 'slack') {
    if (write === 'pull') await slackCommand(caller.slack, `${key} matrix`);
    else await slackRestore(caller.slack, key);
  } else {
    const answer = await stack.request('POST', trigger!.path, { token: null, body: alertmanager(write === 'pull' ? 'firing' : 'resolved', fingerprint) });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  }

  // Slack answers after its ack: wait until the attempt's effect (or refusal) is recorded.
  const events = await eventually(async () => {
    const seen = await eventsSince(key, seq);
    if (seen.length > 0) return seen;
    const refused = await stack.db.query(`SELECT 1 FROM audit_events WHERE resource_id = $1 AND action = 'slack.command_refused' AND seq > $2`, [key, seq]);
    return entry !== 'slack' || (refused.rowCount ?? 0) > 0 ? seen : undefined;
  }, 'the attempt to be recorded');
  const after = await killed(key);
  const decision: Decision = after !== before ? 'applied' : events.some((e) => e.action === 'change_request.created') ? 'requested' : 'refused';
  return { decision, events, actor };
}

/** What every entry point must do for one (write, policy, caller). */
function expected(write: Write, policy: 'off' | 'on', who: CallerKind, actor: string): Observed {
  if (who === 'forbidden') return { decision: 'refused', events: [] };
  if (write === 'pull') return { decision: 'applied', events: [{ action: 'kill_switch.activated', actor }] };
  return policy === 'off'
    ? { decision: 'applied', events: [{ action: 'kill_switch.deactivated', actor }] }
    : { decision: 'requested', events: [{ action: 'change_request.created', actor }] };
}

describe('one write path: the kill switch', () => {
  let people: Record<CallerKind, Person>;
  beforeAll(async () => {
    people = {
      allowed: await person('viewer', [{ resource: 'flag', action: 'kill_switch', conditions: { environments: [ENV] } }]),
      forbidden: await person('viewer', []),
    };
  });

  for (const policy of ['off', 'on'] as const) {
    describe(`policy ${policy}`, () => {
      beforeAll(async () => {
        const body = policy === 'on' ? { required_approvals: 1, restore_requires_approval: true } : { required_approvals: 0 };
        expect((await stack.request('PUT', POLICY, { body })).status).toBe(200);
      });
      for (const write of ['pull', 'release'] as const) {
        for (const entry of ['http', 'slack', 'trigger'] as const) {
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

  it('a bypass (the right and a reason) releases directly and says so; without the right it is refused', async () => {
    expect((await stack.request('PUT', POLICY, { body: { required_approvals: 1, restore_requires_approval: true } })).status).toBe(200);
    const responder = await person('emergency_responder', []);
    const key = await liveFlag();
    const path = `/api/v1/flags/${key}/environments/${ENV}/kill-switch`;
    expect((await stack.request('POST', path, { body: { reason: 'matrix setup' } })).status).toBe(201);
    const bypass = { 'x-change-request-bypass': 'true' };
    const noRight = await stack.request('DELETE', path, { token: people.allowed.token, headers: bypass, body: { reason: 'incident over' } });
    expect(noRight.status).toBe(403);
    // Invisible characters are no reason.
    const invisible = await stack.request('DELETE', path, { token: responder.token, headers: bypass, body: { reason: '\u200b\u2060' } });
    expect(invisible.status, JSON.stringify(invisible.body)).toBe(400);
    expect(await killed(key)).toBe(true);
    const seq = await lastSeq();
    const released = await stack.request('DELETE', path, { token: responder.token, headers: bypass, body: { reason: 'incident over' } });
    expect(released.status, JSON.stringify(released.body)).toBe(200);
    expect(await eventsSince(key, seq)).toEqual([{ action: 'kill_switch.deactivated', actor: responder.id }]);
    const { rows } = await stack.db.query(`SELECT reason FROM audit_events WHERE resource_id = $1 AND action = 'kill_switch.deactivated'`, [key]);
    expect(rows[0].reason).toBe('[change policy bypassed] incident over');
  });

  it('a trigger’s repeated resolve makes one request, and the approved request releases the kill as the trigger', async () => {
    expect((await stack.request('PUT', POLICY, { body: { required_approvals: 1, restore_requires_approval: true } })).status).toBe(200);
    const key = await liveFlag();
    const created = await stack.request('POST', `/api/v1/flags/${key}/environments/${ENV}/triggers`, { body: { name: 'matrix', source: 'alertmanager', restore_on_resolved: true } });
    const trigger = created.body as { id: string; path: string };
    expect((await stack.request('POST', trigger.path, { token: null, body: alertmanager('firing', 'fp') })).body.action).toBe('kill');
    const first = await stack.request('POST', trigger.path, { token: null, body: alertmanager('resolved', 'fp') });
    expect(first.body).toMatchObject({ action: 'restore_requested', change_request: { status: 'pending' } });
    const again = await stack.request('POST', trigger.path, { token: null, body: alertmanager('resolved', 'fp') });
    expect(again.body.change_request.id).toBe(first.body.change_request.id);
    const approver = await person('editor', []);
    const approved = await stack.request('POST', `/api/v1/change-requests/${first.body.change_request.id}/approve`, { token: approver.token, body: {} });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    await eventually(async () => (await killed(key)) === false, 'the approved release');
    const { rows } = await stack.db.query(`SELECT user_id FROM audit_events WHERE resource_id = $1 AND action = 'kill_switch.deactivated'`, [key]);
    expect(rows).toEqual([{ user_id: `trigger:${trigger.id}` }]);
  });
});
