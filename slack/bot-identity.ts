import { WebClient } from '@slack/web-api';

export interface BotIdentity {
  botId: string;
  botUserId: string;
}

/** How long start-up waits for Slack's auth.test before giving up. */
const AUTH_TEST_TIMEOUT_MS = 10_000;

/**
 * The bot's ids, which Bolt needs to ignore the bot's own events. Configured (SLACK_BOT_ID and
 * SLACK_BOT_USER_ID), or else learnt once at start-up from Slack's `auth.test` with the bot token.
 * Without this, Bolt would call auth.test before handling every request (it caches nothing when
 * token verification is off), so each `/killswitch` would wait on one more Slack round trip. A failed
 * auth.test stops start-up with an error naming the variables, rather than failing every command later.
 */
export async function learnBotIdentity(options: {
  botToken?: string;
  apiUrl: string;
  botId?: string;
  botUserId?: string;
}): Promise<BotIdentity | undefined> {
  if (options.botId && options.botUserId) return { botId: options.botId, botUserId: options.botUserId };
  if (!options.botToken) return undefined;
  const client = new WebClient(options.botToken, { slackApiUrl: options.apiUrl, retryConfig: { retries: 0 }, timeout: AUTH_TEST_TIMEOUT_MS });
  let answer: Awaited<ReturnType<WebClient['auth']['test']>>;
  try {
    answer = await client.auth.test();
  } catch (error) {
    throw new Error(
      `Slack auth.test failed (${error instanceof Error ? error.message : String(error)}): set SLACK_BOT_ID and SLACK_BOT_USER_ID ` +
        'to start without it, or check SLACK_BOT_TOKEN and SLACK_API_URL',
    );
  }
  const botId = options.botId ?? answer.bot_id;
  const botUserId = options.botUserId ?? answer.user_id;
  if (!botId || !botUserId) {
    throw new Error('Slack auth.test did not name the bot (no bot_id or user_id): set SLACK_BOT_ID and SLACK_BOT_USER_ID, or use a bot token (xoxb-…) in SLACK_BOT_TOKEN');
  }
  return { botId, botUserId };
}
