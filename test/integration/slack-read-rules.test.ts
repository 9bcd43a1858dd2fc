import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSlackApi, type FakeSlackApi } from './fake-slack-api.js';
import { startStack, type Stack } from './harness.js';
import { createFlag, createUser, type TestUser } from './governance-helpers.js';
import { FORM, postSlackEvent, slashCommandBody, slackStackEnv } from './slack-helpers.js';

// Slack's reads and its restore prompt decide through the same functions as the HTTP routes
// (the kill-switch commands' releasePreview, the rollout commands' list, the flag service's read):
// a linked user without the right is refused with the same reason as over HTTP, audited as a Slack
// refusal; and the restore prompt says what pressing would do under the environment's change policy.

let stack: Stack;
let fakeSlack: FakeSlackApi;
const POLICY = '/api/v1/environments/production/change-policy';

beforeAll(async () => {
  fakeSlack = await startFakeSlackApi();
  stack = await startStack({
    ...slackStackEnv(fakeSlack.url),
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await fakeSlack?.close();
});

async function linked(role: 'viewer' | 'emergency_responder'): Promise<TestUser & { slack: { id: string; name: string } }> {
  const user = await createUser(stack, role);
  const slack = { id: `U0${randomUUID().slice(0, 8).toUpperCase()}`, name: `${role}-${randomUUID().slice(0, 4)}` };
  expect((await stack.request('PATCH', `/api/v1/users/${user.id}`, { body: { slack_user_id: slack.id } })).status).toBe(200);
  return { ...user, slack };
}

async function slash(command: string, text: string, user: { id: string; name: string }) {
  const answer = await postSlackEvent<{ text?: string; blocks?: unknown[] }>(stack.api.url, slashCommandBody(fakeSlack.origin, command, text, user), { contentType: FORM });
  expect(answer.status).toBe(200);
  return answer.body;
}

async function killedFlag(): Promise<string> {
  const key = await createFlag(stack, 'slack-reads');
  expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
  expect((await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'errors' } })).status).toBeLessThan(300);
  return key;
}

const refusals = async (userId: string, key: string) =>
  (await stack.db.query(`SELECT reason FROM audit_events WHERE action = 'slack.command_refused' AND user_id = $1 AND resource_id = $2`, [userId, key])).rows;

describe('Slack reads and the restore prompt decide as the HTTP routes do', () => {
  it('refuses the restore prompt to a viewer with the release’s own reason (as DELETE …/kill-switch), audited', async () => {
    const key = await killedFlag();
    const viewer = await linked('viewer');
    const byHttp = await stack.request('DELETE', `/api/v1/flags/${key}/environments/production/kill-switch`, { token: viewer.token });
    expect(byHttp.status).toBe(403);
    const answer = await slash('/killswitch', `restore ${key}`, viewer.slack);
    expect(answer.text).toBe(`:no_entry: You may not do that: ${byHttp.body.error.message}.`);
    expect(answer.blocks ?? []).toEqual([]);
    expect(await refusals(viewer.id, key)).toEqual([{ reason: byHttp.body.error.message }]);
  });

  it('says a release will be a change request when the policy needs approval for restores, and offers an immediate restore when not', async () => {
    const key = await killedFlag();
    const responder = await linked('emergency_responder');
    const direct = await slash('/killswitch', `restore ${key}`, responder.slack);
    expect(direct.text).toBe(`Release the kill switch of \`${key}\` in production?`);
    expect(JSON.stringify(direct.blocks)).toContain('Restore now');

    expect((await stack.request('PUT', POLICY, { body: { required_approvals: 1, restore_requires_approval: true } })).status).toBe(200);
    try {
      const gated = await slash('/killswitch', `restore ${key}`, responder.slack);
      expect(gated.text).toContain(`Request the release of the kill switch of \`${key}\` in production? production's change policy needs 1 approval first`);
      expect(JSON.stringify(gated.blocks)).toContain('Request release');
      expect(JSON.stringify(gated.blocks)).not.toContain('Restore now');
    } finally {
      expect((await stack.request('PUT', POLICY, { body: { required_approvals: 0 } })).status).toBe(200);
    }
  });

  it('shows /flag through the flag service’s read, as GET /api/v1/flags/{key} shows it to the same viewer', async () => {
    const key = await killedFlag();
    const viewer = await linked('viewer');
    const flag = await slash('/flag', key, viewer.slack);
    expect(flag.text).toContain(`\`${key}\``);
    expect(flag.text).toContain('*production*: :red_circle: *killed*');
    const byHttp = await stack.request('GET', `/api/v1/flags/${key}`, { token: viewer.token });
    expect(byHttp.status).toBe(200);
    for (const environment of Object.keys(byHttp.body.environments)) expect(flag.text).toContain(`*${environment}*:`);
  });
});
