import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from '../harness.js';
import { FORM, nowSeconds, postSlackEvent, slackSignature, slashCommandBody, slackStackEnv } from '../slack-helpers.js';

// Slack's side of the trust boundary, against the real API and stack with a
// loopback fake of Slack's Web API (response_url answers land there). Requests are signed with the
// test signing secret the way Slack signs them.

let stack: Stack;
let fakeSlack: Server;
let slackUrl: string;
const responses: Array<{ path: string; body: Record<string, unknown> }> = [];

beforeAll(async () => {
  fakeSlack = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      try {
        responses.push({ path: req.url ?? '', body: JSON.parse(raw) as Record<string, unknown> });
      } catch {
        responses.push({ path: req.url ?? '', body: { raw } });
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => fakeSlack.listen(0, '127.0.0.1', resolve));
  slackUrl = `http://127.0.0.1:${(fakeSlack.address() as AddressInfo).port}`;
  stack = await startStack({
    ...slackStackEnv(`${slackUrl}/api/`),
  });
});
afterAll(async () => {
  await stack?.close();
  fakeSlack?.close();
});

const form = FORM;

const slack = (body: string, timestamp = nowSeconds()) => postSlackEvent<{ text?: string }>(stack.api.url, body, { timestamp });
const slashCommand = (command: string, text: string, user: { id: string; name: string }, triggerId?: string) => slashCommandBody(slackUrl, command, text, user, triggerId);

async function liveFlag(prefix: string): Promise<string> {
  const key = uniqueKey(prefix);
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: `Name of ${key}`, type: 'boolean' } })).status).toBe(201);
  expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
  return key;
}

const valueOf = async (key: string) =>
  (await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: 'u' } }, headers: { 'x-environment': 'production' } })).body.value;

const stranger = { id: 'U0UNLINKED', name: 'mallory' };
const viewer = { id: 'U0BVIEWER', name: 'vera' };

describe('Slack: the linked-user rule on every command', () => {
  let key: string;
  beforeAll(async () => {
    key = await liveFlag('slackb');
    const created = await stack.request('POST', '/api/v1/users', {
      body: { email: 'vera@example.com', name: 'Vera', role: 'viewer', slack_user_id: viewer.id },
    });
    expect(created.status).toBe(201);
  });

  it('/flag answers an unlinked user "link your account" and nothing about the flag', async () => {
    const answer = await slack(slashCommand('/flag', key, stranger));
    expect(answer.status).toBe(200);
    expect(answer.body.text).toContain('not linked');
    expect(answer.body.text).not.toContain(key);
    expect(answer.body.text).not.toContain(`Name of ${key}`);
    expect(answer.body.text).not.toContain('production');
    const refused = await stack.db.query(
      `SELECT user_id, metadata FROM audit_events WHERE action = 'slack.command_refused' AND resource_id = $1`, [key],
    );
    expect(refused.rows).toHaveLength(1);
    expect(refused.rows[0]).toMatchObject({ user_id: `slack:${stranger.id}`, metadata: { command: `/flag ${key}` } });
  });

  it('suggests no flag keys to an unlinked user, on /flag, /killswitch and /rollout', async () => {
    const typo = `${key.slice(0, -1)}z`;
    for (const [command, text] of [['/flag', typo], ['/killswitch', `${typo} errors spiking`], ['/flag', 'help']] as const) {
      const answer = await slack(slashCommand(command, text, stranger));
      expect(answer.status).toBe(200);
      expect(answer.body.text, `${command} ${text}`).toContain('not linked');
      expect(answer.body.text, `${command} ${text}`).not.toContain('Did you mean');
      expect(answer.body.text, `${command} ${text}`).not.toContain(key);
    }
    // /rollout acknowledges first and answers through response_url.
    const triggerId = randomUUID();
    expect((await slack(slashCommand('/rollout', `${typo} status`, stranger, triggerId))).status).toBe(200);
    const reply = await eventually(async () => responses.find((r) => r.path === `/response/${triggerId}`), 'the /rollout answer');
    expect(String(reply.body.text)).toContain('not linked');
    expect(String(reply.body.text)).not.toContain(key);
    expect(await valueOf(key)).toBe(true);
  });

  it('suggests close flag keys once the user is linked and may read them', async () => {
    const typo = `${key.slice(0, -1)}z`;
    const answer = await slack(slashCommand('/flag', typo, viewer));
    expect(answer.body.text).toContain(`Did you mean \`${key}\``);
    const shown = await slack(slashCommand('/flag', key, viewer));
    expect(shown.body.text).toContain(`\`${key}\` — Name of ${key}`);
    expect(shown.body.text).toContain('*production*: :large_green_circle: on');
  });
});

describe('Slack: request timestamps and body size', () => {
  const responder = { id: 'U0BRESPONDER', name: 'rhea' };
  beforeAll(async () => {
    const created = await stack.request('POST', '/api/v1/users', {
      body: { email: 'rhea@example.com', name: 'Rhea', role: 'emergency_responder', slack_user_id: responder.id },
    });
    expect(created.status).toBe(201);
  });

  it('refuses a correctly signed request timestamped more than 5 minutes in the future, like an old one', async () => {
    const key = await liveFlag('slackts');
    const ahead = await slack(slashCommand('/killswitch', `${key} signed ahead of time`, responder), nowSeconds() + 10 * 60);
    expect(ahead.status).toBe(401);
    const old = await slack(slashCommand('/killswitch', `${key} signed long ago`, responder), nowSeconds() - 10 * 60);
    expect(old.status).toBe(401);
    expect(await valueOf(key)).toBe(true);
    // Within the window (a minute of clock skew either way) the same command works.
    const skewed = await slack(slashCommand('/killswitch', `${key} clock a minute fast`, responder), nowSeconds() + 60);
    expect(skewed.status).toBe(200);
    expect(skewed.body.text).toContain(`\`${key}\` is off in production`);
    expect(await valueOf(key)).toBe(false);
  });

  it('answers 413 to a 5 MB body and the same keep-alive connection serves the next request', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const url = new URL(`${stack.api.url}/slack/events`);
    const send = (body: Buffer | string, timestamp = nowSeconds()) =>
      new Promise<{ status: number; text: string; reused: boolean }>((resolve, reject) => {
        const req = httpRequest({
          host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent,
          headers: {
            'content-type': form, 'content-length': Buffer.byteLength(body), 'x-slack-request-timestamp': String(timestamp),
            'x-slack-signature': slackSignature(body.toString(), timestamp),
          },
        }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      const big = await send(Buffer.alloc(5 * 1024 * 1024, 'a'));
      expect(big.status).toBe(413);
      const next = await send(slashCommand('/flag', 'help', responder));
      expect(next.status).toBe(200);
      expect(JSON.parse(next.text).text).toContain('/flag');
      // Same socket: the server read (and dropped) the rest of the big body instead of parsing it as the next request.
      expect(next.reused).toBe(true);
    } finally {
      agent.destroy();
    }
  });
});
