import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, Alerter } from '../../activities/alerts.js';
import { BOOTSTRAP_ACTOR } from '../../src/auth/principal.js';
import { rolloutPlanSchema } from '../../src/domain/rollout-plan.js';
import type { FlagService } from '../../src/flags/flag-service.js';
import { applyKill, type KillSwitchChange } from '../../src/kill-switch/kill-change.js';
import { withTransaction, type Database } from '../../src/connections/database.js';
import type { RedisProjection } from '../../src/cache/projection.js';
import { killSwitchWorkflowId, restoreWorkflowId, rolloutWorkflowId } from '../../src/temporal/workflow-ids.js';
import { killSwitch, restoreKillSwitch } from '../../workflows/kill-switch.js';
import { progressQuery } from '../../workflows/rollout-messages.js';
import { rollout } from '../../workflows/rollout.js';
import { uniqueKey } from './harness.js';
import { startTimeSkippingWorker, type TimeSkippingWorker } from './time-skipping.js';

// Time-skipping tests of the kill-switch workflow: its retries back off in skipped time, so a Slack
// outage of minutes takes a moment. Activities are the real ones, on the real Postgres and Redis.

let stack: TimeSkippingWorker;
let env: TestWorkflowEnvironment;
let taskQueue: string;
let db: Database;
let flags: FlagService;
let projection: RedisProjection;

/** Alerts as delivered, and how many sends failed first (Slack down) for each flag. */
const delivered: Alert[] = [];
const failuresLeft = new Map<string, number>();
const failedSends = new Map<string, number>();

const alerter: Alerter = {
  async send(alert) {
    const left = failuresLeft.get(alert.flagKey) ?? 0;
    if (left > 0) {
      failuresLeft.set(alert.flagKey, left - 1);
      failedSends.set(alert.flagKey, (failedSends.get(alert.flagKey) ?? 0) + 1);
      throw new Error('Slack is down');
    }
    delivered.push(alert);
  },
};

beforeAll(async () => {
  // No API replica runs here: acknowledgements under a prefix of this file's own find none to wait for.
  stack = await startTimeSkippingWorker({ name: 'kill-switch-test', alerter, ackPrefix: `kill-switch-test-${randomUUID()}` });
  ({ env, taskQueue, db, flags, projection } = stack);
});

afterAll(async () => {
  await stack?.close();
});

async function newFlag(): Promise<string> {
  const key = uniqueKey('kill');
  await flags.createFlag({ key, name: key, type: 'boolean' }, { actor: BOOTSTRAP_ACTOR });
  await flags.updateConfig(key, 'production', { enabled: true, value: true, off_value: false }, undefined, { actor: BOOTSTRAP_ACTOR });
  return key;
}

/** A change requested now on the test server's clock, which earlier tests skipped ahead of the wall clock. */
async function changeFor(flagKey: string, workflowId: string, reason = 'errors spiking'): Promise<KillSwitchChange> {
  return {
    flagKey, environment: 'production', workflowId, reason, at: new Date(await env.currentTimeMs()).toISOString(),
    actor: { id: BOOTSTRAP_ACTOR.id, name: BOOTSTRAP_ACTOR.name },
  };
}

async function auditCount(flagKey: string, action: string): Promise<number> {
  const result = await db.query('SELECT count(*)::int AS n FROM audit_events WHERE resource_id = $1 AND action = $2', [flagKey, action]);
  return result.rows[0].n;
}

async function projected(flagKey: string) {
  return (await projection.readAll('production')).definitions.find((d) => d.key === flagKey);
}

describe('kill-switch workflow (time-skipping)', () => {
  it('applies a kill the API never committed, and keeps alerting through a Slack outage until it is delivered', async () => {
    const key = await newFlag();
    failuresLeft.set(key, 6); // 1 + 2 + 4 + 8 + 16 + 32 seconds of backoff, skipped
    const workflowId = killSwitchWorkflowId('production', key, randomUUID());
    const result = await env.client.workflow.execute(killSwitch, { taskQueue, workflowId, args: [await changeFor(key, workflowId)] });

    const config = await flags.getConfig(key, 'production');
    expect(config.kill_switch).toMatchObject({ enabled: true, reason: 'errors spiking', triggered_by: BOOTSTRAP_ACTOR.name });
    expect(result.version).toBe(config.version);
    expect((await projected(key))?.config.kill_switch.enabled).toBe(true);
    expect(await auditCount(key, 'kill_switch.activated')).toBe(1);
    expect(failedSends.get(key)).toBe(6);
    expect(delivered.filter((a) => a.flagKey === key).map((a) => a.title)).toEqual(['Kill switch activated']);
  });

  it('re-applies a kill the API already made without changing it twice: same version, one audit event', async () => {
    const key = await newFlag();
    const workflowId = killSwitchWorkflowId('production', key, randomUUID());
    const change = await changeFor(key, workflowId);
    const applied = await withTransaction(db, (tx) => applyKill(tx, change));
    expect(applied.changed).toBe(true);

    const result = await env.client.workflow.execute(killSwitch, { taskQueue, workflowId, args: [change] });
    expect(result.version).toBe(applied.definition.version);
    expect((await flags.getConfig(key, 'production')).version).toBe(applied.definition.version);
    expect(await auditCount(key, 'kill_switch.activated')).toBe(1);
    expect((await projected(key))?.version).toBe(applied.definition.version);
  });

  it("pauses the flag's running rollout, which stays paused after the release", async () => {
    const key = await newFlag();
    const rolloutHandle = await env.client.workflow.start(rollout, {
      taskQueue,
      workflowId: rolloutWorkflowId('production', key),
      args: [{
        rolloutId: randomUUID(), flagKey: key, environment: 'production', actor: { id: BOOTSTRAP_ACTOR.id, name: BOOTSTRAP_ACTOR.name },
        plan: rolloutPlanSchema.parse({ strategy: 'gradual', steps: [{ percentage: 10, hold: '1 day' }, { percentage: 100 }] }),
      }],
    });
    for (let i = 0; i < 100 && (await rolloutHandle.query(progressQuery)).percentage !== 10; i++) await env.sleep('1 minute');
    expect((await rolloutHandle.query(progressQuery)).percentage).toBe(10);

    const killId = killSwitchWorkflowId('production', key, randomUUID());
    await env.client.workflow.execute(killSwitch, { taskQueue, workflowId: killId, args: [await changeFor(key, killId, 'checkout broken')] });
    const paused = await rolloutHandle.query(progressQuery);
    expect(paused.status).toBe('paused');
    expect(paused.pausedReason).toContain('checkout broken');

    const restoreId = restoreWorkflowId('production', key, randomUUID());
    await env.client.workflow.execute(restoreKillSwitch, { taskQueue, workflowId: restoreId, args: [await changeFor(key, restoreId, 'fixed')] });
    expect((await flags.getConfig(key, 'production')).kill_switch.enabled).toBe(false);
    expect(await auditCount(key, 'kill_switch.deactivated')).toBe(1);
    // Past the step's one-day hold: unpaused, it would have gone on to 100 %.
    await env.sleep('36 hours');
    expect(await rolloutHandle.query(progressQuery)).toMatchObject({ status: 'paused', percentage: 10 });
  });
});
