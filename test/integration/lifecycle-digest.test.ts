import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoWeek } from '../../src/domain/lifecycle.js';
import { ensureLifecycleDigestSchedule, lifecycleDigestScheduleId } from '../../src/temporal/lifecycle-schedule.js';
import type { LifecycleDigestResult } from '../../workflows/lifecycle-digest.js';
import { startFakeSlackApi } from './fake-slack-api.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';

// The weekly digest end to end: the worker creates its Temporal schedule from LIFECYCLE_DIGEST_SCHEDULE,
// a triggered run reads what the API wrote (owners, configs, code references) and posts through the
// fake Slack Web API; a second run in the same week posts nothing.

let stack: Stack;
let slack: Awaited<ReturnType<typeof startFakeSlackApi>>;
const CHANNEL = `CLIFE${randomUUID().slice(0, 8).toUpperCase()}`;

beforeAll(async () => {
  slack = await startFakeSlackApi();
  stack = await startStack({
    LIFECYCLE_DIGEST_SCHEDULE: '0 9 * * 1', LIFECYCLE_DIGEST_CHANNEL: CHANNEL, SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: slack.url,
  });
});
afterAll(async () => {
  if (stack) await ensureLifecycleDigestSchedule(stack.temporal, { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, cron: 'off' }).catch(() => undefined);
  await stack?.close();
  await slack?.close();
});

/** A user with a Slack link and an admin token of their own. */
async function slackUser(): Promise<{ id: string; token: string; slackId: string }> {
  const slackId = `U${randomUUID().slice(0, 8).toUpperCase()}`;
  const created = await stack.request('POST', '/api/v1/users', { body: { email: `${uniqueKey('owner')}@example.com`, name: 'Flag Owner', role: 'editor', slack_user_id: slackId } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const token = await stack.request('POST', '/api/v1/tokens', { body: { name: 'owner', kind: 'admin', user_id: created.body.id } });
  return { id: created.body.id, token: token.body.token, slackId };
}

/** A flag created by `token`'s user, serving `true` everywhere, unchanged for 40 days. */
async function launchedLongAgo(token: string | undefined, prefix: string): Promise<string> {
  const key = uniqueKey(prefix);
  expect((await stack.request('POST', '/api/v1/flags', { token, body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  for (const env of ['development', 'staging', 'production']) {
    expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/${env}`, { token, body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
  }
  await stack.ownerDb.query(`UPDATE flags SET created_at = now() - interval '40 days' WHERE key = $1`, [key]);
  await stack.ownerDb.query(`UPDATE flag_configs SET updated_at = now() - interval '40 days' WHERE flag_id = (SELECT id FROM flags WHERE key = $1)`, [key]);
  return key;
}

async function runOnce(): Promise<LifecycleDigestResult> {
  const handle = stack.temporal.schedule.getHandle(lifecycleDigestScheduleId(stack.config.TEMPORAL_TASK_QUEUE));
  const before = (await handle.describe()).info.recentActions.length;
  await handle.trigger();
  const action = await eventually(async () => (await handle.describe()).info.recentActions[before], 'the triggered run', 20_000);
  return stack.temporal.workflow.getHandle(action.action.workflow.workflowId).result();
}

describe('weekly lifecycle digest', () => {
  it('the worker schedules it weekly; a run DMs each owner their ready-to-remove flags and posts the rest to the channel, once per week', async () => {
    const description = await eventually(
      () => stack.temporal.schedule.getHandle(lifecycleDigestScheduleId(stack.config.TEMPORAL_TASK_QUEUE)).describe().catch(() => undefined),
      'the digest schedule', 20_000,
    );
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'lifecycleDigest', taskQueue: stack.config.TEMPORAL_TASK_QUEUE });
    const next = description.info.nextActionTimes[0]!;
    expect([next.getUTCDay(), next.getUTCHours(), next.getUTCMinutes()]).toEqual([1, 9, 0]); // Mondays 09:00 UTC

    const owner = await slackUser();
    const referenced = await launchedLongAgo(owner.token, 'digest-ref');
    const unreferenced = await launchedLongAgo(owner.token, 'digest-unref');
    const ownerless = await launchedLongAgo(undefined, 'digest-boot'); // created by the bootstrap admin: no Slack link
    // The unreferenced flag is still evaluated in production (for real, through OFREP and the flush).
    const server = await stack.request('POST', '/api/v1/tokens', { body: { name: 'digest', kind: 'server', environment: 'production' } });
    expect((await stack.request('POST', `/ofrep/v1/evaluate/flags/${unreferenced}`, { token: server.body.token, body: { context: { targetingKey: 'u' } } })).status).toBe(200);
    await eventually(async () => (await stack.db.query('SELECT 1 FROM flag_last_evaluated WHERE flag_key = $1', [unreferenced])).rowCount, 'the evaluation flushed');
    const upload = await stack.request('PUT', '/api/v1/code-references', {
      body: { repository: uniqueKey('repo'), references: [{ flag: referenced, path: 'src/checkout.ts', line: 12, kind: 'call' }, { flag: referenced, path: 'src/cart.ts', line: 4, kind: 'literal' }] },
    });
    expect(upload.status).toBe(200);

    const first = await runOnce();
    expect(first).toMatchObject({ week: isoWeek(Date.now()), alreadyPosted: 0, unrouted: 0 });
    const dms = slack.posts.filter((post) => post.channel === owner.slackId);
    expect(dms).toHaveLength(1);
    expect(dms[0]!.text).toBe(`Ripcord lifecycle digest ${first.week}: 2 of your flags ready to remove`);
    const sections = (dms[0]!.blocks as Array<{ type: string; text?: { text: string } }>).map((block) => block.text?.text ?? '');
    expect(sections).toContain(`Flags ready to remove · ${first.week}`);
    const section = (key: string) => sections.find((text) => text.startsWith(`*\`${key}\`*`));
    const date = '\\d{4}-\\d{2}-\\d{2}';
    expect(section(referenced)).toMatch(new RegExp(`· stale\nnever evaluated since its creation on ${date} \\(more than 30 days\\)\nLast evaluated: development never, production never, staging never\nReferenced in 2 files$`));
    expect(section(unreferenced)).toMatch(new RegExp(`· stale\nserves true to everyone in every environment, unchanged since ${date} \\(more than 30 days\\): ready to remove\nLast evaluated: development never, production ${date} \\d{2}:\\d{2}, staging never\nNo code references: safe to delete$`));
    const channel = slack.posts.filter((post) => post.channel === CHANNEL);
    expect(channel).toHaveLength(1);
    expect(JSON.stringify(channel[0]!.blocks)).toContain(`${ownerless}\`* · stale · owner bootstrap-admin`);
    expect(JSON.stringify(channel[0]!.blocks)).not.toContain(referenced);

    const postsBefore = slack.posts.length;
    expect(await runOnce()).toMatchObject({ week: first.week, posted: 0, alreadyPosted: first.posted });
    expect(slack.posts.length).toBe(postsBefore);
  });
});
