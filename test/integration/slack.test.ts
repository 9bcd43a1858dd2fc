import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSlackApi, type FakeSlackApi } from './fake-slack-api.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { FORM, postSlackEvent, slashCommandBody, slackStackEnv } from './slack-helpers.js';

// Against the real API, worker, Postgres, Redis and Temporal, with a local fake of Slack's Web API.

let stack: Stack;
let fakeSlack: FakeSlackApi;

beforeAll(async () => {
  fakeSlack = await startFakeSlackApi();
  stack = await startStack({
    ...slackStackEnv(fakeSlack.url), SLACK_ALERT_CHANNEL: 'C0INCIDENTS',
  });
});
afterAll(async () => {
  await stack?.close();
  await fakeSlack?.close();
});

/** A request signed the way Slack signs it (v0 HMAC-SHA256 over version, timestamp and raw body). */
function slack(body: string, contentType: string, options: { secret?: string; timestamp?: number; retry?: number } = {}) {
  const headers = options.retry ? { 'x-slack-retry-num': String(options.retry), 'x-slack-retry-reason': 'http_timeout' } : undefined;
  return postSlackEvent(stack.api.url, body, { contentType, secret: options.secret, timestamp: options.timestamp, headers });
}

const slashCommand = (command: string, text: string, user: { id: string; name: string }, triggerId?: string) => slashCommandBody(fakeSlack.origin, command, text, user, triggerId);
const form = FORM;

async function createUser(role: string, slackUserId: string) {
  const response = await stack.request('POST', '/api/v1/users', {
    body: { email: `${slackUserId.toLowerCase()}@example.com`, name: `On-call ${slackUserId}`, role, slack_user_id: slackUserId },
  });
  expect(response.status).toBe(201);
  return response.body.id as string;
}

async function liveFlag(): Promise<string> {
  const key = uniqueKey('slack');
  await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } });
  await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: true, off_value: false } });
  return key;
}

const valueOf = async (key: string) =>
  (await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: 'u' } }, headers: { 'x-environment': 'production' } })).body.value;

const killAudits = async (key: string) =>
  (await stack.db.query(`SELECT user_id, metadata FROM audit_events WHERE resource_id = $1 AND action = 'kill_switch.activated'`, [key])).rows;

describe('Slack: /killswitch', () => {
  const responder = { id: 'U0RESPONDER', name: 'dana' };
  let responderId: string;
  beforeAll(async () => {
    responderId = await createUser('emergency_responder', responder.id);
  });

  it('kills the flag for an emergency responder, posts a message with a Restore button, audits the Slack user once', async () => {
    const key = await liveFlag();
    await eventually(async () => (await valueOf(key)) === true, 'the flag to serve true');
    const triggerId = randomUUID();
    const body = slashCommand('/killswitch', `${key} payment errors spiking`, responder, triggerId);
    const answer = await slack(body, form);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(answer.body.text)).toContain(`\`${key}\` is off in production`);
    expect(await valueOf(key)).toBe(false);

    const posted = await eventually(
      async () => fakeSlack.calls.find((c) => c.path === '/api/chat.postMessage' && c.body.channel === 'C0ONCALL' && JSON.stringify(c.body.blocks ?? '').includes(key)),
      'the channel message',
    );
    const blocks = JSON.stringify(posted.body.blocks);
    expect(blocks).toContain('ripcord_restore');
    expect(blocks).toContain('payment errors spiking');
    expect(blocks).toContain(`killswitch:production:${key}:slack-${triggerId}`);
    expect(blocks).toContain('waiting for every replica to confirm');
    // Once the replicas acknowledge the kill, the same message says so.
    const updated = await eventually(
      async () => fakeSlack.calls.find((c) => c.path === '/api/chat.update' && c.body.channel === 'C0ONCALL' && typeof c.body.ts === 'string' && JSON.stringify(c.body.blocks ?? '').includes(key)),
      'the message updated with the confirmation',
    );
    expect(JSON.stringify(updated.body.blocks)).toMatch(/confirmed on [1-9]\d*\/\d+ replicas/);
    const audits = await killAudits(key);
    expect(audits).toHaveLength(1);
    expect(audits[0].user_id).toBe(responderId);
    expect(audits[0].metadata.actorName).toContain('@dana');

    // The workflow's alert step posts to the alert channel.
    await eventually(async () => fakeSlack.calls.find((c) => c.body.channel === 'C0INCIDENTS' && String(c.body.text).includes(key)), 'the alert');

    // Slack redelivers the same command: nothing is killed twice.
    const again = await slack(body, form, { retry: 1 });
    expect(again.status).toBe(200);
    expect(String(again.body.text)).toMatch(/Already done|already killed/);
    expect(await killAudits(key)).toHaveLength(1);
  });

  it('restores through the Restore button (block_actions)', async () => {
    const key = await liveFlag();
    await slack(slashCommand('/killswitch', `${key} broken`, responder), form);
    expect(await valueOf(key)).toBe(false);
    const payload = {
      type: 'block_actions', team: { id: 'T0TEAM', domain: 'acme' }, user: { id: responder.id, username: responder.name, name: responder.name, team_id: 'T0TEAM' },
      api_app_id: 'A0APP', token: 'legacy', trigger_id: randomUUID(), response_url: `${fakeSlack.origin}/response/restore-${key}`,
      container: { type: 'message', message_ts: '1.2', channel_id: 'C0ONCALL', is_ephemeral: false }, channel: { id: 'C0ONCALL', name: 'oncall' },
      actions: [{ type: 'button', action_id: 'ripcord_restore', block_id: 'b1', value: JSON.stringify({ flag: key, environment: 'production' }), action_ts: '1.3' }],
    };
    const answer = await slack(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), form);
    expect(answer.status).toBe(200);
    await eventually(async () => (await valueOf(key)) === true, 'the flag to be restored');
    await eventually(async () => fakeSlack.calls.find((c) => c.path === `/response/restore-${key}` && String(c.body.text).includes('restored')), 'the confirmation');
  });

  it('refuses an unmapped user, audits the attempt and changes nothing', async () => {
    const key = await liveFlag();
    const answer = await slack(slashCommand('/killswitch', `${key} i am not on call`, { id: 'U0STRANGER', name: 'mallory' }), form);
    expect(answer.status).toBe(200);
    expect(String(answer.body.text)).toContain('not linked');
    expect(await valueOf(key)).toBe(true);
    const refused = await stack.db.query(`SELECT user_id, metadata FROM audit_events WHERE resource_id = $1 AND action = 'slack.command_refused'`, [key]);
    expect(refused.rows).toHaveLength(1);
    expect(refused.rows[0]).toMatchObject({ user_id: 'slack:U0STRANGER', metadata: { slackUserName: 'mallory' } });
    expect(await killAudits(key)).toHaveLength(0);
  });

  it('refuses a viewer (RBAC), and helps with a missing reason or an unknown flag', async () => {
    const key = await liveFlag();
    await createUser('viewer', 'U0VIEWER');
    const viewer = await slack(slashCommand('/killswitch', `${key} please`, { id: 'U0VIEWER', name: 'vic' }), form);
    expect(String(viewer.body.text)).toContain('may not');
    expect(await valueOf(key)).toBe(true);
    const noReason = await slack(slashCommand('/killswitch', key, responder), form);
    expect(String(noReason.body.text)).toContain('A reason is required');
    const typo = await slack(slashCommand('/killswitch', `${key.slice(0, -1)}x errors`, responder), form);
    expect(String(typo.body.text)).toContain(`Did you mean \`${key}\``);
    const env = await slack(slashCommand('/killswitch', `${key} errors --env prod`, responder), form);
    expect(String(env.body.text)).toContain('Did you mean `production`');
  });

  it('answers 401 to a bad signature or a stale timestamp, and nothing changes', async () => {
    const key = await liveFlag();
    const body = slashCommand('/killswitch', `${key} forged`, responder);
    expect((await slack(body, form, { secret: 'wrong-secret' })).status).toBe(401);
    expect((await slack(body, form, { timestamp: Math.floor(Date.now() / 1000) - 3600 })).status).toBe(401);
    expect(await valueOf(key)).toBe(true);
  });
});

describe('Slack: /flag and /rollout', () => {
  it('shows a flag and pauses its running rollout', async () => {
    const editor = { id: 'U0EDITOR', name: 'eddie' };
    await createUser('editor', editor.id);
    const key = await liveFlag();
    const started = await stack.request('POST', `/api/v1/flags/${key}/environments/production/rollouts`, {
      body: { plan: { strategy: 'gradual', steps: [{ percentage: 5, hold: '1 hour' }, { percentage: 100 }] } },
    });
    expect(started.status).toBe(201);
    await eventually(async () => (await stack.request('GET', `/api/v1/flags/${key}/environments/production/rollouts`)).body.current?.percentage === 5, 'the first step');

    const shown = await slack(slashCommand('/flag', key, editor), form);
    expect(String(shown.body.text)).toContain('*production*: :large_green_circle: on, 5% (gradual), rollout running');

    const triggerId = randomUUID();
    expect((await slack(slashCommand('/rollout', `${key} pause`, editor, triggerId), form)).status).toBe(200);
    const paused = await eventually(async () => {
      const progress = (await stack.request('GET', `/api/v1/flags/${key}/environments/production/rollouts`)).body.current;
      return progress?.status === 'paused' ? progress : undefined;
    }, 'the rollout to pause');
    expect(paused.paused_reason).toContain('eddie');
    await eventually(async () => fakeSlack.calls.find((c) => c.path === `/response/${triggerId}` && String(c.body.text).includes('paused')), 'the reply');
    await stack.request('POST', `/api/v1/flags/${key}/environments/production/rollouts/current/abort`, { body: { rollback: false } });
  });
});
