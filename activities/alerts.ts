import { WebClient, type KnownBlock } from '@slack/web-api';
import type { Logger } from '../src/logger.js';

/** An alert about a kill switch or a rollout, rendered for Slack or logged. */
export interface Alert {
  title: string;
  flagKey: string;
  environment: string;
  actor: string;
  reason: string;
  at: string;
  links: Array<{ text: string; url: string }>;
}

export interface Alerter {
  send(alert: Alert): Promise<void>;
}

/** Posts to Slack when a bot token and channel are configured, otherwise writes a structured log line. */
export function createAlerter(options: { botToken?: string; channel?: string; apiUrl: string; logger: Logger }): Alerter {
  const { botToken, channel, logger } = options;
  if (!botToken || !channel) {
    return {
      async send(alert) {
        logger.warn({ alert }, `ALERT ${alert.title}`);
      },
    };
  }
  // Temporal retries the activity; the client must not retry on its own as well.
  const slack = new WebClient(botToken, { slackApiUrl: options.apiUrl, retryConfig: { retries: 0 } });
  return {
    async send(alert) {
      const links = alert.links.map((link) => `<${link.url}|${link.text}>`).join(' · ');
      await slack.chat.postMessage({
        channel,
        text: `${alert.title}: ${alert.flagKey} in ${alert.environment} by ${alert.actor} — ${alert.reason}`,
        blocks: <KnownBlock[]>[
          { type: 'header', text: { type: 'plain_text', text: alert.title } },
          {
            type: 'section',
            fields: [
              { type: 'mrkdwn', text: `*Flag*\n\`${alert.flagKey}\`` },
              { type: 'mrkdwn', text: `*Environment*\n${alert.environment}` },
              { type: 'mrkdwn', text: `*By*\n${alert.actor}` },
              { type: 'mrkdwn', text: `*When*\n${alert.at}` },
            ],
          },
          { type: 'section', text: { type: 'mrkdwn', text: `*Reason*\n${alert.reason}` } },
          ...(links ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: links }] }] : []),
        ],
      });
    },
  };
}
