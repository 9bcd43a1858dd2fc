import type { KnownBlock } from '@slack/web-api';

/** Slack message builders. Plain data, no I/O. */

export const RESTORE_ACTION = 'ripcord_restore';

/** The value a Restore button carries. */
export interface RestoreTarget {
  flag: string;
  environment: string;
}

export function restoreButton(target: RestoreTarget, label = 'Restore'): KnownBlock {
  return {
    type: 'actions',
    elements: [
      {
        type: 'button',
        action_id: RESTORE_ACTION,
        style: 'primary',
        text: { type: 'plain_text', text: label },
        value: JSON.stringify(target),
        confirm: {
          title: { type: 'plain_text', text: 'Release the kill switch?' },
          text: { type: 'mrkdwn', text: `\`${target.flag}\` will serve its normal values again in *${target.environment}*.` },
          confirm: { type: 'plain_text', text: 'Restore' },
          deny: { type: 'plain_text', text: 'Keep it off' },
        },
      },
    ],
  };
}

/** The channel message after a kill: who, why, when, the workflow and a Restore button. */
export function killedMessage(input: {
  flag: string;
  environment: string;
  slackUserId: string;
  reason: string;
  at: string;
  workflowId: string;
  workflowUrl: string;
  /** Which replicas serve the kill ("confirmed on 3/3 replicas in 12 ms"); absent while it is awaited. */
  confirmation?: string;
}): { text: string; blocks: KnownBlock[] } {
  const when = `<!date^${Math.floor(Date.parse(input.at) / 1000)}^{date_short_pretty} {time_secs}|${input.at}>`;
  return {
    text: `:rotating_light: Kill switch pulled: ${input.flag} is off in ${input.environment} (by <@${input.slackUserId}>: ${input.reason})`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `Kill switch pulled: ${input.flag}` } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Flag*\n\`${input.flag}\`` },
          { type: 'mrkdwn', text: `*Environment*\n${input.environment}` },
          { type: 'mrkdwn', text: `*By*\n<@${input.slackUserId}>` },
          { type: 'mrkdwn', text: `*When*\n${when}` },
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: `*Why*\n${input.reason}` } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${input.confirmation ? `*${input.confirmation}*` : ':hourglass_flowing_sand: waiting for every replica to confirm…'} · Workflow <${input.workflowUrl}|${input.workflowId}>` }],
      },
      restoreButton({ flag: input.flag, environment: input.environment }),
    ],
  };
}

export const KILLSWITCH_HELP = [
  '*/killswitch <flag> <reason…>* — turn the flag off now (default environment, or `--env <env>`)',
  '*/killswitch restore <flag>* — release it (asks to confirm)',
  '*/flag <flag> [env]* — state in each environment',
  '*/rollout <flag> status|pause|resume|abort|approve [env]* — steer a running rollout (`abort --keep` leaves the percentage)',
].join('\n');

export const FLAG_HELP = '*/flag <flag> [env]* — on/off, killed (by whom, why), percentage, variants and split, and running rollout per environment';
