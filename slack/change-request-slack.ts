import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { Logger } from '../src/logger.js';
import { changeRequestSubject, type ChangeRequest } from '../src/change-requests/change-request-schemas.js';
import type { ChangeRequestNotifier } from '../src/change-requests/change-request-service.js';
import type { ChangeRequestCommands } from '../src/change-requests/change-request-commands.js';
import type { SlackAccessService, SlackCaller } from '../src/users/slack-access-service.js';

export const APPROVE_ACTION = 'ripcord_change_request_approve';
export const REJECT_ACTION = 'ripcord_change_request_reject';
const buttonValue = z.object({ id: z.uuid() });

const short = (value: unknown) => {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
};

/** The message of a change request: what changes, who asked, and the buttons while it is pending. */
export function changeRequestMessage(request: ChangeRequest): { text: string; blocks: unknown[] } {
  const what = request.kind === 'restore' ? 'release the kill switch of' : request.kind === 'segment' && request.proposed === null ? 'delete' : 'change';
  const where = request.environments.length > 1 ? request.environments.join(', ') : request.environment;
  const text = `Change request: ${request.author.name} wants to ${what} ${changeRequestSubject(request)} in ${where} — ${request.status}`;
  const diff = request.diff.map((d) => `• \`${d.field}\`: ${short(d.before)} → ${short(d.after)}`).join('\n') || '• (no difference)';
  const approvals = request.approvals.length ? `\nApproved by ${request.approvals.map((a) => a.user_name).join(', ')}` : '';
  const when = request.apply_at ? `\nApplies at ${request.apply_at} once approved` : '';
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${text}*\n${request.reason ? `_${request.reason}_\n` : ''}${diff}${when}\n${request.approvals.length}/${request.required_approvals} approvals${approvals}` } },
  ];
  if (request.status === 'pending') {
    const value = JSON.stringify({ id: request.id });
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', action_id: APPROVE_ACTION, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value },
        { type: 'button', action_id: REJECT_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Reject' }, value },
      ],
    });
  } else if (request.decided_by) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${request.status} by ${request.decided_by.name}${request.decision_comment ? `: ${request.decision_comment}` : ''}` }] });
  }
  return { text, blocks };
}

/** Posts pending requests to the channel and updates their message when decided. */
export function slackChangeRequestNotifier(deps: { app: App; channel: string }): ChangeRequestNotifier {
  return {
    async pending(request) {
      const posted = await deps.app.client.chat.postMessage({ channel: deps.channel, ...changeRequestMessage(request) } as Parameters<App['client']['chat']['postMessage']>[0]);
      return posted.channel && posted.ts ? { channel: posted.channel, ts: posted.ts } : null;
    },
    async decided(request, posted) {
      await deps.app.client.chat.update({ channel: posted.channel, ts: posted.ts, ...changeRequestMessage(request) } as Parameters<App['client']['chat']['update']>[0]);
    },
  };
}

/**
 * The Approve / Reject buttons: the Slack user must be linked to a Ripcord user, as whom the
 * change-request commands decide exactly as for the API (the policy's approvers, never the author).
 */
export function registerChangeRequestActions(deps: { app: App; access: SlackAccessService; changeRequests: ChangeRequestCommands; logger: Logger }) {
  for (const actionId of [APPROVE_ACTION, REJECT_ACTION]) {
    deps.app.action(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const say = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
      try {
        const value = buttonValue.safeParse(JSON.parse((action as { value?: string }).value ?? 'null'));
        if (!value.success || body.type !== 'block_actions') return void (await say('This button is not valid any more.'));
        const caller: SlackCaller = { slackUserId: body.user.id, slackUserName: body.user.username ?? body.user.name ?? body.user.id, teamId: body.team?.id ?? '' };
        const link = await deps.access.link(caller, { command: actionId === APPROVE_ACTION ? 'approve button' : 'reject button' });
        if (!link.ok) return void (await say(link.message));
        const who = deps.access.callerOf(link.linked);
        const decided = actionId === APPROVE_ACTION
          ? await deps.changeRequests.approve(who, { id: value.data.id })
          : await deps.changeRequests.reject(who, { id: value.data.id, comment: `rejected from Slack by @${caller.slackUserName}` });
        await say(`Change request for ${changeRequestSubject(decided)} in ${decided.environment}: ${decided.status} (${decided.approvals.length}/${decided.required_approvals} approvals).`);
      } catch (error) {
        deps.logger.warn({ err: error }, 'change request button failed');
        const message = (error as { status?: number; message?: string }).status ? (error as Error).message : 'Something went wrong; nothing was changed.';
        await say(`:warning: ${message}`);
      }
    });
  }
}
