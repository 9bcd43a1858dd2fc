import { App, ExpressReceiver, LogLevel, type RespondFn, type SlashCommand } from '@slack/bolt';
import express from 'express';
import { z } from 'zod';
import { AppError, ForbiddenError } from '../src/errors.js';
import { describeStep } from '../src/domain/rollout-status.js';
import type { Logger } from '../src/logger.js';
import type { FlagService } from '../src/flags/flag-service.js';
import type { KillSwitchCommands } from '../src/kill-switch/kill-switch-commands.js';
import type { RolloutService } from '../src/rollouts/rollout-service.js';
import type { RolloutCommands } from '../src/rollouts/rollout-commands.js';
import type { RolloutProgress } from '../workflows/rollout-messages.js';
import type { LinkedSlackUser, SlackAccessService, SlackCaller, SlackTarget } from '../src/users/slack-access-service.js';
import { describeConfirmation, type AckWatcher } from '../src/serving/change-confirmation.js';
import type { InstanceWatcher } from '../src/serving/instance-confirmation.js';
import { CONFIRMATION_TIMEOUT_MS } from '../src/kill-switch/kill-confirmation-service.js';
import { FLAG_HELP, KILLSWITCH_HELP, RESTORE_ACTION, killedMessage, restoreButton } from './blocks.js';
import { parseFlag, parseKillswitch, parseRollout } from './command-text.js';
import { SLACK_BODY_LIMIT_BYTES, slackRequestGuard } from './request-guard.js';
import { describeVariants, type VariantsOfConfig } from './variant-text.js';
import type { ChangeRequestService } from '../src/change-requests/change-request-service.js';
import type { ChangeRequestCommands } from '../src/change-requests/change-request-commands.js';
import { mayReadIn, readGuardOf } from '../src/flags/flag-access.js';
import { registerChangeRequestActions, slackChangeRequestNotifier } from './change-request-slack.js';

export interface SlackAppDeps {
  signingSecret: string;
  botToken?: string;
  apiUrl: string;
  /** The bot's ids, configured or learnt at start-up (`learnBotIdentity`): with both, Bolt never calls auth.test. */
  botId?: string;
  botUserId?: string;
  defaultEnvironment: string;
  /** Who a Slack user is in Ripcord, what they may do, and the flag a command names. */
  access: SlackAccessService;
  /** The kill switch's write commands: they decide rights and the change policy, as for every entry point. */
  killSwitch: KillSwitchCommands;
  flags: FlagService;
  /** Rollout reads (`/flag`, `/rollout status`). */
  rollouts: RolloutService;
  /** Steering a rollout (`/rollout pause|resume|…`): the command decides rights, as for every entry point. */
  rolloutCommands: RolloutCommands;
  /** Change requests: the Approve / Reject buttons (the commands decide), and (with a channel) a message per pending request. */
  changeRequests?: { service: ChangeRequestService; commands: ChangeRequestCommands; channel?: string };
  /** Waits for the replicas' acknowledgements of a kill, to update the channel message with them. */
  acks?: AckWatcher;
  /** Counts the SDK instances holding the kill, for the same message. */
  instances?: InstanceWatcher;
  logger: Logger;
}

type SlackTargetFlag = Extract<SlackTarget, { ok: true }>['flag'];
type Reply = { response_type: 'ephemeral' | 'in_channel'; text: string; blocks?: unknown[] };
const ephemeral = (text: string, blocks?: unknown[]): Reply => ({ response_type: 'ephemeral', text, ...(blocks ? { blocks } : {}) });

const restoreValue = z.object({ flag: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/), environment: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/) });

/**
 * The Slack bot: `/killswitch`, `/flag`, `/rollout` and the Restore button, under the same RBAC and
 * audit as the API. Every command first maps the Slack user to a linked Ripcord user (anyone else is
 * told to link their account and learns nothing about flags), then resolves the flag it names, then
 * checks the right to do it. Returns an Express router for `/slack/events` that must be mounted
 * before any body parser (Bolt verifies the signature over the raw body).
 */
export function createSlackApp(deps: SlackAppDeps): express.Router {
  const { access, logger } = deps;
  const router = express.Router();
  // Registered before Bolt's handler on the same path: the body limit (drained) and future timestamps.
  router.post('/slack/events', slackRequestGuard());
  const receiver = new ExpressReceiver({
    signingSecret: deps.signingSecret, endpoints: '/slack/events', router, logLevel: LogLevel.ERROR, bodyLimit: SLACK_BODY_LIMIT_BYTES,
  });
  const app = new App({
    receiver,
    token: deps.botToken,
    botId: deps.botId,
    botUserId: deps.botUserId,
    tokenVerificationEnabled: false,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: deps.apiUrl, retryConfig: { retries: 0 } },
  });
  app.error(async (error) => logger.error({ err: error }, 'slack handler failed'));

  const callerOf = (command: SlashCommand): SlackCaller => ({
    slackUserId: command.user_id, slackUserName: command.user_name, teamId: command.team_id,
  });

  /** The live flag and environment a linked user's command names (close matches otherwise), for a write command to decide on. */
  async function targetOf(linked: LinkedSlackUser, flagKey: string, environment: string | null): Promise<{ ok: true; flag: SlackTargetFlag; environment: string } | { ok: false; reply: Reply }> {
    const env = environment ?? deps.defaultEnvironment;
    const target = await access.resolve(linked, flagKey, env);
    return target.ok ? { ok: true, flag: target.flag, environment: env } : { ok: false, reply: ephemeral(target.message) };
  }
  /** Runs a write command as the linked user; its refusal (403) is audited as a Slack refusal and becomes the reply. */
  async function asLinked<T>(linked: LinkedSlackUser, attempt: { command: string; flagKey: string; environment: string }, run: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; reply: Reply }> {
    try {
      return { ok: true, value: await run() };
    } catch (error) {
      if (!(error instanceof ForbiddenError)) throw error;
      return { ok: false, reply: ephemeral((await access.refused(linked, attempt, error.message)).message) };
    }
  }
  /** Runs a command body; the caller's mistakes (AppError) become an ephemeral reply, never a crash. */
  async function guarded(reply: (r: Reply) => Promise<unknown>, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      logger.warn({ err: error }, 'slack command failed');
      await reply(ephemeral(error instanceof AppError ? `:warning: ${error.message}` : ':warning: Something went wrong; nothing was changed by this message.'));
    }
  }

  app.command('/killswitch', async ({ command, ack, client }) => {
    let acked = false;
    const reply = async (r: Reply) => {
      if (acked) return;
      acked = true;
      await ack(r);
    };
    await guarded(reply, async () => {
      const parsed = parseKillswitch(command.text);
      const name = `/killswitch ${command.text}`;
      const link = await access.link(callerOf(command), { command: name, flagKey: 'flag' in parsed ? parsed.flag : undefined });
      if (!link.ok) return void (await reply(ephemeral(link.message)));
      if (parsed.kind === 'help') return void (await reply(ephemeral(KILLSWITCH_HELP)));
      if (parsed.kind === 'invalid') return void (await reply(ephemeral(parsed.message)));
      if (parsed.kind === 'restore') {
        // Only offers the button (nothing changes here); pressing it runs the release command, whose right decides the prompt too.
        const found = await targetOf(link.linked, parsed.flag, parsed.environment);
        if (!found.ok) return void (await reply(found.reply));
        const { flag, environment } = found;
        const preview = await asLinked(link.linked, { command: name, flagKey: flag.key, environment }, () =>
          deps.killSwitch.releasePreview(access.callerOf(link.linked), { flagKey: flag.key, environment }));
        if (!preview.ok) return void (await reply(preview.reply));
        const { killSwitch: ks, approvalsNeeded } = preview.value;
        if (!ks.enabled) return void (await reply(ephemeral(`The kill switch of \`${flag.key}\` is not active in ${environment}.`)));
        const asks = approvalsNeeded > 0
          ? `Request the release of the kill switch of \`${flag.key}\` in ${environment}? ${environment}'s change policy needs ${approvalsNeeded} approval${approvalsNeeded === 1 ? '' : 's'} first: pressing makes a change request.`
          : `Release the kill switch of \`${flag.key}\` in ${environment}?`;
        return void (await reply(ephemeral(asks, [
          { type: 'section', text: { type: 'mrkdwn', text: `Killed by ${ks.triggered_by ?? 'someone'}: ${ks.reason ?? ''}` } },
          restoreButton({ flag: flag.key, environment }, approvalsNeeded > 0 ? 'Request release' : 'Restore now'),
        ])));
      }

      const target = await targetOf(link.linked, parsed.flag, parsed.environment);
      if (!target.ok) return void (await reply(target.reply));
      const { flag, environment } = target;
      // The kill is applied before the ack; the workflow starts after it (the outbox guarantees it).
      const pulled = await asLinked(link.linked, { command: name, flagKey: flag.key, environment }, () => deps.killSwitch.pull(
        access.callerOf(link.linked), { flagKey: flag.key, environment, reason: parsed.reason, requestId: `slack-${command.trigger_id}` }, { awaitWorkflow: false },
      ));
      if (!pulled.ok) return void (await reply(pulled.reply));
      const outcome = pulled.value;
      if (outcome.alreadyActive) {
        const ks = outcome.definition.config.kill_switch;
        return void (await reply(ephemeral(`\`${flag.key}\` was already killed in ${environment} by ${ks.triggered_by ?? 'someone'}: ${ks.reason ?? ''}`, [
          restoreButton({ flag: flag.key, environment }),
        ])));
      }
      if (!outcome.changed) return void (await reply(ephemeral(`Already done: this request was delivered before (${outcome.workflow.id}).`)));
      await reply(ephemeral(`:white_check_mark: \`${flag.key}\` is off in ${environment}. Workflow ${outcome.workflow.id}`));
      const message = {
        flag: flag.key, environment, slackUserId: command.user_id, reason: parsed.reason,
        at: outcome.definition.config.kill_switch.triggered_at ?? new Date().toISOString(),
        workflowId: outcome.workflow.id, workflowUrl: outcome.workflow.url,
      };
      const posted = await client.chat
        .postMessage({ channel: command.channel_id, ...killedMessage(message) })
        .catch((error: unknown) => void logger.warn({ err: error }, 'could not post the kill to the channel'));
      if (!posted?.ts || !posted.channel || !deps.acks) return;
      // The confirmation usually arrives within milliseconds; the message says so (or names the laggards) once known.
      const confirmation = await deps.acks.waitForConfirmation(
        { environment, flag: flag.key, version: outcome.definition.version, sinceMs: Date.parse(message.at) },
        { timeoutMs: CONFIRMATION_TIMEOUT_MS },
      ).catch((error: unknown) => void logger.warn({ err: error }, 'could not watch the kill\'s confirmation'));
      if (!confirmation) return;
      const sinceMs = Date.parse(message.at);
      const sdk = await deps.instances?.waitFor(
        { environment, version: outcome.definition.version, sinceMs }, { deadlineMs: Math.max(sinceMs + CONFIRMATION_TIMEOUT_MS, Date.now()) },
      ).catch((error: unknown) => void logger.warn({ err: error }, 'could not count the SDK instances holding the kill'));
      await client.chat
        .update({ channel: posted.channel, ts: posted.ts, ...killedMessage({ ...message, confirmation: describeConfirmation({ ...confirmation, ...(sdk ? { sdk_instances: sdk } : {}) }) }) })
        .catch((error: unknown) => logger.warn({ err: error }, 'could not update the kill message with its confirmation'));
    });
  });

  app.action(RESTORE_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const say = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    await guarded((r) => say(r.text), async () => {
      const value = restoreValue.safeParse(JSON.parse((action as { value?: string }).value ?? 'null'));
      if (!value.success || body.type !== 'block_actions') return void (await say('This button is not valid any more.'));
      const { flag: flagKey, environment } = value.data;
      const caller: SlackCaller = { slackUserId: body.user.id, slackUserName: body.user.username ?? body.user.name ?? body.user.id, teamId: body.team?.id ?? '' };
      const link = await access.link(caller, { command: 'restore button', flagKey, environment });
      if (!link.ok) return void (await say(link.message));
      const target = await targetOf(link.linked, flagKey, environment);
      if (!target.ok) return void (await say(target.reply.text));
      // The same release as DELETE …/kill-switch: under a policy that says restores need approval it is a change request.
      const released = await asLinked(link.linked, { command: 'restore button', flagKey, environment }, () => deps.killSwitch.release(
        access.callerOf(link.linked), { flagKey, environment, reason: `restored from Slack by @${caller.slackUserName}`, requestId: `slack-${body.trigger_id}` }, { awaitWorkflow: false },
      ));
      if (!released.ok) return void (await say(released.reply.text));
      if (released.value.kind === 'requested') {
        return void (await say(`:hourglass_flowing_sand: \`${flagKey}\` stays killed in ${environment}: ${released.value.created.message}`));
      }
      await respond({
        response_type: 'in_channel', replace_original: false,
        text: `:large_green_circle: \`${flagKey}\` restored in ${environment} by <@${caller.slackUserId}>. Workflow ${released.value.outcome.workflow.id}`,
      });
    });
  });

  app.command('/flag', async ({ command, ack }) => {
    await guarded((r) => ack(r), async () => {
      const parsed = parseFlag(command.text);
      const name = `/flag ${command.text}`;
      const link = await access.link(callerOf(command), { command: name, flagKey: 'flag' in parsed ? parsed.flag : undefined });
      if (!link.ok) return void (await ack(ephemeral(link.message)));
      if (parsed.kind === 'help') return void (await ack(ephemeral(FLAG_HELP)));
      if (parsed.kind === 'invalid') return void (await ack(ephemeral(parsed.message)));
      const found = await targetOf(link.linked, parsed.flag, parsed.environment);
      if (!found.ok) return void (await ack(found.reply));
      const { flag } = found;
      const caller = access.callerOf(link.linked);
      // The flag service's read decides, with the caller's RBAC, as GET /api/v1/flags/{key} does.
      const read = await asLinked(link.linked, { command: name, flagKey: flag.key, environment: found.environment }, () =>
        deps.flags.getFlag(flag.key, readGuardOf(caller)));
      if (!read.ok) return void (await ack(read.reply));
      const details = read.value;
      const lines: string[] = [];
      type EnvConfig = VariantsOfConfig & { enabled: boolean; version: number; rollout?: { percentage: number; strategy: string } | null; kill_switch: { enabled: boolean; triggered_by?: string | null; reason?: string | null } };
      for (const [environment, config] of Object.entries(details.environments as Record<string, EnvConfig>)) {
        if (parsed.environment && environment !== parsed.environment) continue;
        // Only the environments this user may read (a grant may name some of them only).
        if (!mayReadIn(caller, environment, flag.tags)) continue;
        const ks = config.kill_switch;
        const state = ks.enabled ? `:red_circle: *killed* by ${ks.triggered_by ?? '?'} — ${ks.reason ?? ''}` : config.enabled ? ':large_green_circle: on' : ':white_circle: off';
        const percentage = `${config.rollout ? `, ${config.rollout.percentage}% (${config.rollout.strategy})` : ''}${describeVariants(config)}`;
        const latest = await deps.rollouts.unfinished(flag.key, environment);
        const rollout = latest
          ? `, rollout ${latest.status} at ${describeStep((latest.progress as { step?: number }).step ?? 0, (latest.progress as { totalSteps?: number }).totalSteps ?? 0)}`
          : '';
        lines.push(`*${environment}*: ${state}${percentage}${rollout} (v${config.version})`);
      }
      await ack(ephemeral(`\`${flag.key}\` — ${flag.name}\n${lines.join('\n')}`));
    });
  });

  app.command('/rollout', async ({ command, ack, respond }) => {
    // Steering talks to Temporal, which may be slow: acknowledge first, answer through response_url.
    await ack();
    const say = (r: Reply) => (respond as RespondFn)({ ...r });
    await guarded(say, async () => {
      const parsed = parseRollout(command.text);
      const name = `/rollout ${command.text}`;
      const link = await access.link(callerOf(command), { command: name, flagKey: 'flag' in parsed ? parsed.flag : undefined });
      if (!link.ok) return void (await say(ephemeral(link.message)));
      if (parsed.kind === 'help') return void (await say(ephemeral(KILLSWITCH_HELP)));
      if (parsed.kind === 'invalid') return void (await say(ephemeral(parsed.message)));
      let progress: RolloutProgress | null;
      let target: { flag: SlackTargetFlag; environment: string };
      if (parsed.action === 'status') {
        // The rollout read decides, with the caller's RBAC, as GET …/rollouts does.
        const found = await targetOf(link.linked, parsed.flag, parsed.environment);
        if (!found.ok) return void (await say(found.reply));
        target = found;
        const listed = await asLinked(link.linked, { command: name, flagKey: found.flag.key, environment: found.environment }, () =>
          deps.rolloutCommands.list(access.callerOf(link.linked), { flagKey: found.flag.key, environment: found.environment }));
        if (!listed.ok) return void (await say(listed.reply));
        progress = listed.value.current;
      } else {
        // Steering is the rollout command's, as over HTTP: it decides the linked user's right.
        const found = await targetOf(link.linked, parsed.flag, parsed.environment);
        if (!found.ok) return void (await say(found.reply));
        target = found;
        const action = parsed.action;
        const steered = await asLinked(link.linked, { command: name, flagKey: found.flag.key, environment: found.environment }, () => deps.rolloutCommands.steer(
          access.callerOf(link.linked), { flagKey: found.flag.key, environment: found.environment, action, args: action === 'abort' ? { rollback: !parsed.keep } : {} },
        ));
        if (!steered.ok) return void (await say(steered.reply));
        progress = steered.value;
      }
      const { flag, environment } = target;
      if (!progress) return void (await say(ephemeral(`No rollout of \`${flag.key}\` is running in ${environment}.`)));
      const next = progress.nextChangeAt ? `, next change ${progress.nextChangeAt}` : progress.approvalDeadline ? `, approval needed by ${progress.approvalDeadline}` : '';
      await say(ephemeral(`Rollout of \`${flag.key}\` in ${environment}: *${progress.status}*, ${describeStep(progress.step, progress.totalSteps)} at ${String(progress.percentage ?? 0)}%${next}${progress.pausedReason ? ` (${progress.pausedReason})` : ''}`));
    });
  });

  if (deps.changeRequests) {
    registerChangeRequestActions({ app, access, changeRequests: deps.changeRequests.commands, logger });
    const { channel, service } = deps.changeRequests;
    if (channel) service.useNotifier(slackChangeRequestNotifier({ app, channel }));
  }

  return router;
}
