import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSlackApi, type FakeSlackApi } from './fake-slack-api.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { FORM, postSlackEvent, slackStackEnv } from './slack-helpers.js';

// Change requests in Slack, against the real stack and a local fake of Slack's Web API: a pending
// request is posted with Approve / Reject buttons; a signed button press from a linked user approves
// it exactly as the API would (self-approval refused); the message is updated when decided.

let stack: Stack;
let fakeSlack: FakeSlackApi;
const POLICY = '/api/v1/environments/production/change-policy';

beforeAll(async () => {
  // One message ts for every post: the button presses below name it as their container's.
  fakeSlack = await startFakeSlackApi({ ts: () => '1700000000.000100' });
  stack = await startStack({
    ...slackStackEnv(fakeSlack.url), SLACK_ALERT_CHANNEL: 'C0CHANGES',
  });
});
afterAll(async () => {
  if (stack) expect((await stack.request('PUT', POLICY, { body: { required_approvals: 0 } })).status).toBe(200);
  await stack?.close();
  await fakeSlack?.close();
});

async function linkedEditor(slackUserId: string) {
  const user = await stack.request('POST', '/api/v1/users', {
    body: { email: `${uniqueKey('cr')}@example.com`, name: `Editor ${slackUserId}`, role: 'editor', slack_user_id: slackUserId },
  });
  expect(user.status).toBe(201);
  const token = await stack.request('POST', '/api/v1/tokens', { body: { name: 't', kind: 'admin', user_id: user.body.id } });
  return { id: user.body.id as string, token: token.body.token as string, slack: { id: slackUserId, name: `editor-${slackUserId}` } };
}

/** A signed block_actions delivery of one button press; the answer goes to the fake's `/response/<trigger>`. */
async function press(actionId: string, requestId: string, user: { id: string; name: string }) {
  const trigger = randomUUID();
  const payload = {
    type: 'block_actions', team: { id: 'T0TEAM', domain: 'acme' }, user: { id: user.id, username: user.name, name: user.name, team_id: 'T0TEAM' },
    api_app_id: 'A0APP', token: 'legacy', trigger_id: trigger, response_url: `${fakeSlack.origin}/response/${trigger}`,
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0CHANGES', is_ephemeral: false }, channel: { id: 'C0CHANGES', name: 'changes' },
    actions: [{ type: 'button', action_id: actionId, block_id: 'b1', value: JSON.stringify({ id: requestId }), action_ts: '1.3' }],
  };
  const answer = await postSlackEvent(stack.api.url, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), { contentType: FORM });
  expect(answer.status).toBe(200);
  return eventually(async () => fakeSlack.calls.find((c) => c.path === `/response/${trigger}`)?.body.text as string | undefined, 'the button’s answer');
}

describe('change requests in Slack', () => {
  it('posts a pending request with buttons; the author’s press is refused; another linked editor approves and the message updates', async () => {
    const author = await linkedEditor(`U0A${randomUUID().slice(0, 6).toUpperCase()}`);
    const reviewer = await linkedEditor(`U0R${randomUUID().slice(0, 6).toUpperCase()}`);
    const key = uniqueKey('cr-slack');
    expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
    expect((await stack.request('PUT', POLICY, { body: { required_approvals: 1 } })).status).toBe(200);
    const made = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { token: author.token, body: { enabled: true, value: true, off_value: false } });
    expect(made.status).toBe(202);
    const id = made.body.change_request.id as string;

    const posted = await eventually(async () => fakeSlack.calls.find((c) => c.path.endsWith('chat.postMessage') && JSON.stringify(c.body.blocks ?? '').includes(id)), 'the request’s message');
    expect(posted.body.channel).toBe('C0CHANGES');
    expect(JSON.stringify(posted.body.blocks)).toContain('ripcord_change_request_approve');

    expect(await press('ripcord_change_request_approve', id, author.slack)).toMatch(/self-approval is refused/);
    expect(await press('ripcord_change_request_approve', id, { id: 'U0STRANGER', name: 'mallory' })).toMatch(/not linked/);
    expect((await stack.request('GET', `/api/v1/change-requests/${id}`)).body.status).toBe('pending');

    expect(await press('ripcord_change_request_approve', id, reviewer.slack)).toMatch(/approved/);
    await eventually(async () => (await stack.request('GET', `/api/v1/change-requests/${id}`)).body.status === 'applied', 'the request to apply', 30_000);
    const approval = await stack.db.query(`SELECT user_id, user_agent FROM audit_events WHERE action = 'change_request.approved' AND metadata->>'changeRequestId' = $1`, [id]);
    expect(approval.rows).toEqual([{ user_id: reviewer.id, user_agent: 'Slack' }]);
    const updated = await eventually(async () => fakeSlack.calls.find((c) => c.path.endsWith('chat.update') && JSON.stringify(c.body.blocks ?? '').includes(key)), 'the message update');
    expect(JSON.stringify(updated.body.blocks)).not.toContain('ripcord_change_request_approve');
  });
});
