import { log } from '@temporalio/activity';
import { WebClient, type KnownBlock } from '@slack/web-api';
import { DEFAULT_LIFECYCLE_THRESHOLDS, type LifecycleThresholds } from '../src/domain/lifecycle.js';
import { createLifecycleService, type DigestMessage } from '../src/lifecycle/lifecycle-service.js';
import type { ActivityDeps } from './activity-deps.js';

/** What the weekly lifecycle digest needs besides the database. */
export interface LifecycleDigestDeps {
  thresholds: LifecycleThresholds;
  /** Where flags of owners without a linked Slack account go (LIFECYCLE_DIGEST_CHANNEL, else SLACK_ALERT_CHANNEL). */
  channel?: string;
  /** Slack's Web API; without it the digest is logged. */
  slack?: { botToken: string; apiUrl: string };
}

const when = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : 'never');

/** A digest as a Slack message: a header, one section per flag, a footer for what was left out. */
export function renderDigest(week: string, message: DigestMessage): { text: string; blocks: KnownBlock[] } {
  const count = message.flags.length + message.more;
  const whose = message.kind === 'owner' ? 'your flags' : `flags of ${message.owners.join(', ')}`;
  const text = `Ripcord lifecycle digest ${week}: ${count} of ${whose} ready to remove`;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: `Flags ready to remove · ${week}` } },
    { type: 'section', text: { type: 'mrkdwn', text: `${count} of ${whose} ${count === 1 ? 'is' : 'are'} launched or stale.` } },
    ...message.flags.map((flag): KnownBlock => ({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: [
          `*\`${flag.key}\`* · ${flag.stage}${message.kind === 'channel' ? ` · owner ${flag.owner}` : ''}`,
          flag.reason,
          `Last evaluated: ${Object.entries(flag.last_evaluated).map(([env, at]) => `${env} ${when(at)}`).join(', ') || 'no environment'}`,
          flag.referenced_files > 0 ? `Referenced in ${flag.referenced_files} file${flag.referenced_files === 1 ? '' : 's'}` : 'No code references: safe to delete',
        ].join('\n'),
      },
    })),
    ...(message.more > 0 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${message.more} more in the admin UI's "Ready to remove" page` }] } as KnownBlock] : []),
  ];
  return { text, blocks };
}

/** The lifecycle digest's activities: gather per recipient, post once per week and recipient. */
export function createLifecycleActivities(deps: ActivityDeps) {
  const digest: LifecycleDigestDeps = deps.lifecycle ?? { thresholds: DEFAULT_LIFECYCLE_THRESHOLDS };
  // Temporal retries the activity; the client must not retry on its own as well.
  const slack = digest.slack ? new WebClient(digest.slack.botToken, { slackApiUrl: digest.slack.apiUrl, retryConfig: { retries: 0 } }) : undefined;
  const lifecycle = createLifecycleService({ db: deps.db, thresholds: digest.thresholds });

  return {
    /** Launched and stale flags grouped into one message per owner (or the fallback channel). */
    async gatherLifecycleDigest(): Promise<{ messages: DigestMessage[]; unrouted: number }> {
      return lifecycle.digest(slack ? digest.channel : digest.channel ?? 'log');
    },

    /**
     * Posts one recipient's digest unless that week's went out already (a retry, or a second run in
     * the same week); the record is written only after Slack accepted the message, so a failed post is
     * retried. Without Slack the digest is logged (and recorded the same way).
     */
    async postLifecycleDigest(input: { week: string; message: DigestMessage }): Promise<'posted' | 'already-posted' | 'logged'> {
      const { week, message } = input;
      if (await lifecycle.digestPosted(week, message.recipient)) return 'already-posted';
      const rendered = renderDigest(week, message);
      if (slack) await slack.chat.postMessage({ channel: message.recipient, text: rendered.text, blocks: rendered.blocks, unfurl_links: false });
      else log.info(rendered.text, { week, recipient: message.recipient, flags: message.flags.map((flag) => flag.key) });
      await lifecycle.recordDigestPosted(week, message.recipient, message.flags.length + message.more);
      return slack ? 'posted' : 'logged';
    },
  };
}
