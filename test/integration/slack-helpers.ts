/* Requests to Ripcord's Slack endpoint as Slack sends them: signed slash commands, for the Slack tests. */
import { createHmac, randomUUID } from 'node:crypto';

/** The signing secret the Slack tests start the API with. */
export const SIGNING_SECRET = 'test-slack-signing-secret';
export const FORM = 'application/x-www-form-urlencoded';

/** The environment that turns on Ripcord's Slack app against a fake of Slack's Web API at `apiUrl` (signed with SIGNING_SECRET). */
export const slackStackEnv = (apiUrl: string) => ({
  SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: apiUrl,
  SLACK_BOT_ID: 'B0TEST', SLACK_BOT_USER_ID: 'U0BOT',
});

/** Slack's v0 request signature: HMAC-SHA256 over version, timestamp and the raw body. */
export function slackSignature(body: string, timestamp: number, secret = SIGNING_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** POSTs `body` to the API's `/slack/events`, signed as Slack signs it (with `secret`, at `timestamp`); the JSON answer, `{}` when empty. */
export async function postSlackEvent<T = Record<string, unknown>>(
  apiUrl: string,
  body: string,
  options: { contentType?: string; secret?: string; timestamp?: number; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const timestamp = options.timestamp ?? nowSeconds();
  const response = await fetch(`${apiUrl}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? FORM, 'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(body, timestamp, options.secret), ...options.headers,
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** A slash command's form body as Slack posts it; its delayed answers go to `${slackUrl}/response/<trigger id>`. */
export function slashCommandBody(slackUrl: string, command: string, text: string, user: { id: string; name: string }, triggerId: string = randomUUID()): string {
  return new URLSearchParams({
    token: 'legacy', team_id: 'T0TEAM', team_domain: 'acme', channel_id: 'C0ONCALL', channel_name: 'oncall',
    user_id: user.id, user_name: user.name, command, text, api_app_id: 'A0APP', is_enterprise_install: 'false',
    response_url: `${slackUrl}/response/${triggerId}`, trigger_id: triggerId,
  }).toString();
}
