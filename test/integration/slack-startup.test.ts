import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startApiServer } from '../../src/main/api-server.js';
import { ADMIN_TOKEN, startStack, type Stack } from './harness.js';
import { postSlackEvent, SIGNING_SECRET, slashCommandBody } from './slack-helpers.js';

// The Slack bot started without SLACK_BOT_ID / SLACK_BOT_USER_ID learns its ids from
// Slack's auth.test once, at start-up (a loopback fake of Slack's Web API answers it), and Bolt
// uses them: it never calls auth.test again for the commands it handles. When auth.test fails,
// start-up stops with an error naming the variables.

const BOT_TOKEN = 'xoxb-startup-test-token';
let fakeSlack: Server;
let slackUrl: string;
let authTest: { ok: boolean; error?: string } = { ok: true };
const authTestCalls: Array<{ authorization: string | undefined }> = [];

beforeAll(async () => {
  fakeSlack = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/api/auth.test') {
        authTestCalls.push({ authorization: req.headers.authorization });
        return void res.end(JSON.stringify(authTest.ok
          ? { ok: true, url: 'https://acme.slack.com/', team: 'Acme', user: 'ripcord', team_id: 'T0TEAM', user_id: 'U0LEARNT', bot_id: 'B0LEARNT' }
          : { ok: false, error: authTest.error }));
      }
      res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => fakeSlack.listen(0, '127.0.0.1', resolve));
  slackUrl = `http://127.0.0.1:${(fakeSlack.address() as AddressInfo).port}`;
});
afterAll(() => fakeSlack?.close());

const slackEnv = (apiUrl: string) => ({ SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_API_URL: apiUrl });

const slashCommand = (text: string) => slashCommandBody(slackUrl, '/flag', text, { id: 'U0SOMEONE', name: 'someone' });
const signed = (url: string, body: string) => postSlackEvent<{ text?: string }>(url, body);

describe('Slack start-up without SLACK_BOT_ID and SLACK_BOT_USER_ID', () => {
  let stack: Stack;
  afterAll(async () => stack?.close());

  it('learns the ids from auth.test once, at start-up, and Bolt uses them for every command', async () => {
    authTest = { ok: true };
    authTestCalls.length = 0;
    stack = await startStack(slackEnv(`${slackUrl}/api/`), { worker: false });
    expect(stack.config.SLACK_BOT_ID).toBeUndefined();
    expect(stack.config.SLACK_BOT_USER_ID).toBeUndefined();
    // Asked before the API listened, with the bot token.
    expect(authTestCalls).toEqual([{ authorization: `Bearer ${BOT_TOKEN}` }]);

    for (const text of ['help', 'some-flag', 'other-flag --env staging']) {
      const answer = await signed(stack.api.url, slashCommand(text));
      expect(answer.status).toBe(200);
      expect(answer.body.text).toContain('not linked');
    }
    // Bolt calls auth.test before each request unless it has both ids: it had them.
    expect(authTestCalls).toHaveLength(1);
  });
});

describe('Slack start-up when auth.test fails', () => {
  const config = (apiUrl: string) => loadConfig({
    ...process.env, PORT: '0', RIPCORD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent', ...slackEnv(apiUrl),
  });

  it('stops with an error naming the variables when Slack refuses the token', async () => {
    authTest = { ok: false, error: 'invalid_auth' };
    await expect(startApiServer(config(`${slackUrl}/api/`), createLogger('silent', 'test')))
      .rejects.toThrow(/auth\.test failed .*invalid_auth.*SLACK_BOT_ID and SLACK_BOT_USER_ID/);
  });

  it('stops with an error naming the variables when Slack cannot be reached', async () => {
    // A port nothing listens on: a server is started and closed to find one.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(startApiServer(config(`http://127.0.0.1:${port}/api/`), createLogger('silent', 'test')))
      .rejects.toThrow(/auth\.test failed .*SLACK_BOT_ID and SLACK_BOT_USER_ID.*SLACK_BOT_TOKEN and SLACK_API_URL/);
  });
});
