import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/auth/principal.js';
import { DEFAULT_LIFECYCLE_THRESHOLDS } from '../../src/domain/lifecycle.js';
import { lifecycleDigest } from '../../workflows/lifecycle-digest.js';
import { startFakeSlackApi } from './fake-slack-api.js';
import { uniqueKey } from './harness.js';
import { startTimeSkippingWorker, type TimeSkippingWorker } from './time-skipping.js';

// The weekly lifecycle digest workflow on the time-skipping test server, with the real activities on
// the real Postgres: Slack refusing posts is retried in skipped time (10 s, 20 s… backoff), each
// recipient gets one message per week however often the workflow runs.

let stack: TimeSkippingWorker;
let slack: Awaited<ReturnType<typeof startFakeSlackApi>>;
const CHANNEL = `CLIFE${randomUUID().slice(0, 8).toUpperCase()}`;

beforeAll(async () => {
  slack = await startFakeSlackApi();
  stack = await startTimeSkippingWorker({
    name: 'lifecycle-digest-test',
    lifecycle: { thresholds: DEFAULT_LIFECYCLE_THRESHOLDS, channel: CHANNEL, slack: { botToken: 'xoxb-test', apiUrl: slack.url } },
  });
});
afterAll(async () => {
  await stack?.close();
  await slack?.close();
});

async function user(name: string, slackUserId: string | null): Promise<Actor> {
  const result = await stack.db.query('INSERT INTO users (email, name, role, slack_user_id) VALUES ($1, $2, $3, $4) RETURNING id',
    [`${uniqueKey('owner')}@example.com`, name, 'editor', slackUserId]);
  return { id: result.rows[0].id, name, role: 'editor' };
}

/** A flag owned (created) by `owner`, on everywhere, unchanged and never evaluated for `ageDays`. */
async function ownedFlag(owner: Actor, ageDays: number, config: Record<string, unknown> = { enabled: true, value: true, off_value: false }): Promise<string> {
  const key = uniqueKey('digest');
  await stack.flags.createFlag({ key, name: key, type: 'boolean' }, { actor: owner });
  for (const env of ['development', 'staging', 'production']) await stack.flags.updateConfig(key, env, config, undefined, { actor: owner });
  await stack.db.query(`UPDATE flags SET created_at = now() - make_interval(days => $2) WHERE key = $1`, [key, ageDays]);
  await stack.db.query(`UPDATE flag_configs SET updated_at = now() - make_interval(days => $2) WHERE flag_id = (SELECT id FROM flags WHERE key = $1)`, [key, ageDays]);
  return key;
}

describe('lifecycleDigest workflow (time-skipping)', () => {
  it('posts one message per owner (DM) and one to the channel for owners without a Slack link, retrying Slack, once per week', async () => {
    const slackId = `U${randomUUID().slice(0, 8).toUpperCase()}`;
    const linked = await user('Linked Owner', slackId);
    const unlinked = await user('Unlinked Owner', null);
    const staleOfLinked = await ownedFlag(linked, 40);
    const activeOfLinked = await ownedFlag(linked, 40, { enabled: true, value: true, off_value: false, rollout: { percentage: 30, strategy: 'gradual' } });
    // In use (evaluated today) and rolling out: active, not in the digest.
    await stack.db.query(`INSERT INTO flag_last_evaluated (flag_key, environment, last_evaluated) VALUES ($1, 'production', now())`, [activeOfLinked]);
    const staleOfUnlinked = await ownedFlag(unlinked, 40);
    const week = `test-${randomUUID()}`;

    slack.failNext(2);
    const first = await stack.env.client.workflow.execute(lifecycleDigest, { taskQueue: stack.taskQueue, workflowId: `digest-${week}`, args: [{ week }] });
    expect(slack.failed()).toBe(2);
    const dms = slack.posts.filter((post) => post.channel === slackId);
    expect(dms).toHaveLength(1);
    expect(dms[0]!.text).toContain(`Ripcord lifecycle digest ${week}: 1 of your flags ready to remove`);
    const dm = JSON.stringify(dms[0]!.blocks);
    expect(dm).toContain(staleOfLinked);
    expect(dm).toContain('never evaluated since its creation');
    expect(dm).toContain('No code references: safe to delete');
    expect(dm).not.toContain(activeOfLinked);
    const channel = slack.posts.filter((post) => post.channel === CHANNEL);
    expect(channel).toHaveLength(1);
    expect(JSON.stringify(channel[0]!.blocks)).toContain(`${staleOfUnlinked}\`* · stale · owner Unlinked Owner`);
    expect(first).toMatchObject({ week, posted: first.posted, alreadyPosted: 0, unrouted: 0 });
    expect(first.posted).toBeGreaterThanOrEqual(2);

    // The same week again (a retried run, a manual trigger): nothing is posted twice.
    const postsBefore = slack.posts.length;
    const second = await stack.env.client.workflow.execute(lifecycleDigest, { taskQueue: stack.taskQueue, workflowId: `digest-${week}-again`, args: [{ week }] });
    expect(second).toMatchObject({ week, posted: 0, alreadyPosted: first.posted });
    expect(slack.posts.length).toBe(postsBefore);
  });
});
