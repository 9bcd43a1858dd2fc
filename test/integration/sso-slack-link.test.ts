import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUserFromIdentity } from '../../src/sso/sso-store.js';
import { startFakeSlackApi, type FakeSlackApi } from './fake-slack-api.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { FORM, postSlackEvent, slashCommandBody, slackStackEnv } from './slack-helpers.js';

// SLACK_LINK_BY_VERIFIED_EMAIL: a Slack member not yet linked is linked to the single-sign-on user
// whose email both Slack and the identity provider verified; anyone else stays unlinked and refused.

let stack: Stack;
let fakeSlack: FakeSlackApi;

beforeAll(async () => {
  fakeSlack = await startFakeSlackApi({
    members: {
      U0ALICE: { email: 'Alice.Link@example.com', confirmed: true },
      U0BOB: { email: 'bob.link@example.com', confirmed: false },
      U0MADE: { email: 'made.link@example.com', confirmed: true },
      U0UNVERIFIED: { email: 'unverified.link@example.com', confirmed: true },
    },
  });
  stack = await startStack({
    ...slackStackEnv(fakeSlack.url), SLACK_ALERT_CHANNEL: 'C0INCIDENTS',
    // Sign-in itself is not used here (e2e/sso.test.ts covers it); discovery only happens at a sign-in.
    OIDC_ISSUER: 'http://127.0.0.1:9', OIDC_CLIENT_ID: 'ripcord', RIPCORD_PUBLIC_URL: 'http://127.0.0.1:9',
    SLACK_LINK_BY_VERIFIED_EMAIL: 'on',
  });
  const identity = { issuer: 'http://127.0.0.1:9', role: 'emergency_responder' as const };
  await insertUserFromIdentity(stack.db, { ...identity, subject: 'alice', email: 'alice.link@example.com', name: 'Alice', emailVerified: true });
  await insertUserFromIdentity(stack.db, { ...identity, subject: 'bob', email: 'bob.link@example.com', name: 'Bob', emailVerified: true });
  await insertUserFromIdentity(stack.db, { ...identity, subject: 'unverified', email: 'unverified.link@example.com', name: 'Uma', emailVerified: false });
  expect((await stack.request('POST', '/api/v1/users', { body: { email: 'made.link@example.com', name: 'Made', role: 'emergency_responder' } })).status).toBe(201);
});
afterAll(async () => {
  await stack?.close();
  await fakeSlack?.close();
});

async function liveFlag(): Promise<string> {
  const key = uniqueKey('slack-link');
  await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } });
  await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: true, off_value: false } });
  return key;
}

const kill = (key: string, user: { id: string; name: string }) =>
  postSlackEvent(stack.api.url, slashCommandBody(fakeSlack.origin, '/killswitch', `${key} slack link test`, user), { contentType: FORM });
const slackIdOf = async (email: string) => (await stack.db.query('SELECT slack_user_id FROM users WHERE email = $1', [email])).rows[0]?.slack_user_id ?? null;

describe('Slack accounts linked by verified email', () => {
  it('links a single-sign-on user whose email Slack confirms, audits it, and runs their command', async () => {
    const key = await liveFlag();
    const answer = await kill(key, { id: 'U0ALICE', name: 'alice' });
    expect(answer.status).toBe(200);
    expect(String(answer.body.text)).not.toContain('not linked');
    expect(await slackIdOf('alice.link@example.com')).toBe('U0ALICE');
    const [linked] = (await stack.db.query("SELECT user_id, metadata FROM audit_events WHERE action = 'user.slack_linked'")).rows;
    expect(linked.metadata).toMatchObject({ actorName: 'Alice', via: 'verified email', slackUserName: 'alice' });
    await eventually(async () => (await stack.db.query("SELECT 1 FROM audit_events WHERE resource_id = $1 AND action = 'kill_switch.activated' AND user_id = $2", [key, linked.user_id])).rowCount === 1, 'the kill, as Alice');
  });

  it('leaves unlinked: an email Slack has not confirmed, one the provider did not verify, and a user who never signed in with it', async () => {
    for (const [member, email] of [['U0BOB', 'bob.link@example.com'], ['U0UNVERIFIED', 'unverified.link@example.com'], ['U0MADE', 'made.link@example.com']] as const) {
      const key = await liveFlag();
      const answer = await kill(key, { id: member, name: member.toLowerCase() });
      expect(String(answer.body.text), member).toContain('not linked');
      expect(await slackIdOf(email), member).toBeNull();
    }
    const unknown = await kill(await liveFlag(), { id: 'U0NOBODY', name: 'nobody' });
    expect(String(unknown.body.text)).toContain('not linked');
    expect((await stack.db.query("SELECT count(*)::int AS n FROM audit_events WHERE action = 'user.slack_linked'")).rows[0].n).toBe(1);
  });
});
