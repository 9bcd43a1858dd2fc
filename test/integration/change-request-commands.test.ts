import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/auth/caller.js';
import { createChangeRequestCommands, type ChangeRequestCommands } from '../../src/change-requests/change-request-commands.js';
import { createChangeRequestService } from '../../src/change-requests/change-request-service.js';
import type { Role } from '../../src/auth/rbac.js';
import { createLogger } from '../../src/logger.js';
import type { WorkflowStarter } from '../../src/temporal/workflow-starter.js';
import { startFakeSlackApi, type FakeSlackApi } from './fake-slack-api.js';
import { eventually, startStack, type Stack } from './harness.js';
import { createFlag, createUser, type TestUser } from './governance-helpers.js';
import { FORM, postSlackEvent, slackStackEnv } from './slack-helpers.js';

// Approving, rejecting and withdrawing change requests go through one set of commands
// (src/change-requests/change-request-commands.ts) that the HTTP routes and Slack's buttons call:
// the same caller gets the same decision from either; the command judges the approver as they are
// now (not as an entry point last saw them) and checks comments with the shared text rule.

let stack: Stack;
let fakeSlack: FakeSlackApi;
let commands: ChangeRequestCommands;
const POLICY = '/api/v1/environments/production/change-policy';

beforeAll(async () => {
  fakeSlack = await startFakeSlackApi({ ts: () => '1700000000.000100' });
  stack = await startStack({
    ...slackStackEnv(fakeSlack.url), SLACK_ALERT_CHANNEL: 'C0CHANGES',
  });
  // Two approvals: no decision below completes a request, so the commands need no Temporal starter.
  expect((await stack.request('PUT', POLICY, { body: { required_approvals: 2 } })).status).toBe(200);
  const noStarts = { start: () => Promise.reject(new Error('no request completes in this file')) } as unknown as WorkflowStarter;
  commands = createChangeRequestCommands({ db: stack.db, changeRequests: createChangeRequestService({ db: stack.db, starter: noStarts, logger: createLogger('silent') }) });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await fakeSlack?.close();
});

async function linkedUser(role: Role): Promise<TestUser & { slack: { id: string; name: string } }> {
  const user = await createUser(stack, role);
  const slack = { id: `U0${randomUUID().slice(0, 8).toUpperCase()}`, name: `${role}-${randomUUID().slice(0, 4)}` };
  expect((await stack.request('PATCH', `/api/v1/users/${user.id}`, { body: { slack_user_id: slack.id } })).status).toBe(200);
  return { ...user, slack };
}

/** A pending request for a production config change, made by `author`. */
async function pendingRequest(author: TestUser): Promise<string> {
  const key = await createFlag(stack, 'cr-commands');
  const made = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { token: author.token, body: { enabled: true, value: true, off_value: false } });
  expect(made.status, JSON.stringify(made.body)).toBe(202);
  return made.body.change_request.id;
}

/** A signed press of Approve or Reject; resolves to the ephemeral answer's text. */
async function press(action: 'approve' | 'reject', requestId: string, user: { id: string; name: string }): Promise<string> {
  const trigger = randomUUID();
  const payload = {
    type: 'block_actions', team: { id: 'T0TEAM', domain: 'acme' }, user: { id: user.id, username: user.name, name: user.name, team_id: 'T0TEAM' },
    api_app_id: 'A0APP', token: 'legacy', trigger_id: trigger, response_url: `${fakeSlack.origin}/response/${trigger}`,
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0CHANGES', is_ephemeral: false }, channel: { id: 'C0CHANGES', name: 'changes' },
    actions: [{ type: 'button', action_id: `ripcord_change_request_${action}`, block_id: 'b1', value: JSON.stringify({ id: requestId }), action_ts: '1.3' }],
  };
  expect((await postSlackEvent(stack.api.url, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), { contentType: FORM })).status).toBe(200);
  return eventually(async () => fakeSlack.calls.find((c) => c.path === `/response/${trigger}`)?.body.text as string | undefined, 'the button’s answer');
}

/** The caller an entry point builds for `user` with the role it saw (possibly no longer true). */
const callerSeenAs = (user: TestUser, role: Role): Caller => ({
  actor: { id: user.id, name: `Test ${role}`, role }, subject: { kind: 'user', role, grants: [] }, userAgent: 'test',
});

const decisionsOf = async (id: string) =>
  (await stack.db.query(`SELECT action, user_id, user_agent FROM audit_events WHERE resource_type = 'change_request' AND metadata->>'changeRequestId' = $1 AND action <> 'change_request.created' ORDER BY seq`, [id])).rows;

describe('change-request commands: one decision for every entry point', () => {
  it('refuses a viewer and the author with the same reason over HTTP and from Slack; an editor approves either way, audited once each', async () => {
    const author = await linkedUser('editor');
    const viewer = await linkedUser('viewer');
    const id = await pendingRequest(author);

    const byHttp = await stack.request('POST', `/api/v1/change-requests/${id}/approve`, { token: viewer.token, body: {} });
    expect(byHttp.status).toBe(403);
    expect(await press('approve', id, viewer.slack)).toBe(`:warning: ${byHttp.body.error.message}`);
    const authorHttp = await stack.request('POST', `/api/v1/change-requests/${id}/reject`, { token: author.token, body: { comment: 'no' } });
    expect(authorHttp.status).toBe(403);
    expect(await press('reject', id, author.slack)).toBe(`:warning: ${authorHttp.body.error.message}`);
    expect(await decisionsOf(id)).toEqual([]);

    const first = await linkedUser('editor');
    const second = await linkedUser('editor');
    expect((await stack.request('POST', `/api/v1/change-requests/${id}/approve`, { token: first.token, body: { comment: 'looks right' } })).status).toBe(200);
    expect(await press('reject', id, second.slack)).toMatch(/: rejected \(1\/2 approvals\)/);
    const [approved, rejected, ...more] = await decisionsOf(id);
    expect(more).toEqual([]);
    expect(approved).toMatchObject({ action: 'change_request.approved', user_id: first.id });
    expect(rejected).toEqual({ action: 'change_request.rejected', user_id: second.id, user_agent: 'Slack' });
  });

  it('judges the approver as they are now: demoted or deactivated after an entry point looked them up, refused and nothing written', async () => {
    const author = await createUser(stack, 'editor');
    const id = await pendingRequest(author);

    const demoted = await createUser(stack, 'editor');
    expect((await stack.request('PATCH', `/api/v1/users/${demoted.id}`, { body: { role: 'viewer' } })).status).toBe(200);
    await expect(commands.approve(callerSeenAs(demoted, 'editor'), { id })).rejects.toMatchObject({
      status: 403, message: "Only users who may change flags in 'production' may approve change requests in 'production'",
    });

    const gone = await createUser(stack, 'editor');
    expect((await stack.request('DELETE', `/api/v1/users/${gone.id}`, { body: { reason: 'left' } })).status).toBe(200);
    await expect(commands.reject(callerSeenAs(gone, 'editor'), { id, comment: 'no' })).rejects.toMatchObject({ status: 403, message: 'Test editor is no longer an active user' });
    await expect(commands.withdraw(callerSeenAs(author, 'editor'), { id })).resolves.toMatchObject({ status: 'withdrawn' });
    expect((await decisionsOf(id)).map((row) => row.action)).toEqual(['change_request.withdrawn']);
  });

  it('checks comments with the shared text rule whoever calls: invisible or over-long comments are 400 naming body.comment', async () => {
    const author = await createUser(stack, 'editor');
    const approver = await createUser(stack, 'editor');
    const id = await pendingRequest(author);
    const caller = callerSeenAs(approver, 'editor');
    for (const comment of ['\u200b', '\u2060\u00ad', ' ']) {
      await expect(commands.reject(caller, { id, comment })).rejects.toMatchObject({ status: 400, details: [{ path: 'body.comment' }] });
    }
    await expect(commands.approve(caller, { id, comment: 'x'.repeat(501) })).rejects.toMatchObject({ status: 400, details: [{ path: 'body.comment' }] });
    await expect(commands.approve(caller, { id, comment: 'bad\u0000byte' })).rejects.toMatchObject({ status: 400, details: [{ path: 'body.comment' }] });
    expect(await decisionsOf(id)).toEqual([]);
    expect((await stack.request('GET', `/api/v1/change-requests/${id}`)).body).toMatchObject({ status: 'pending', approvals: [] });
  });
});
