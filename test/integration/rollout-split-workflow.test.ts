import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../activities/alerts.js';
import { BOOTSTRAP_ACTOR } from '../../src/auth/principal.js';
import { rolloutPlanSchema } from '../../src/domain/rollout-plan.js';
import type { FlagService } from '../../src/flags/flag-service.js';
import type { Database } from '../../src/connections/database.js';
import { recordOutcomes } from '../../src/flag-metrics/event-store.js';
import { rolloutWorkflowId } from '../../src/temporal/workflow-ids.js';
import { abortUpdate, progressQuery, resumeUpdate, type RolloutProgress } from '../../workflows/rollout-messages.js';
import type { rollout } from '../../workflows/rollout.js';
import { uniqueKey } from './harness.js';
import { startTimeSkippingWorker, type TimeSkippingWorker } from './time-skipping.js';

// Split rollouts (strategy 'split') on Temporal's time-skipping test server, with the real activities
// on the real Postgres and Redis: each step sets the config's weighted split; a guard breach or an
// abort with rollback puts back the split the rollout started from.

let stack: TimeSkippingWorker;
let env: TestWorkflowEnvironment;
let taskQueue: string;
let db: Database;
let flags: FlagService;
let alerts: Alert[];
const actor = { id: BOOTSTRAP_ACTOR.id, name: BOOTSTRAP_ACTOR.name };

beforeAll(async () => {
  stack = await startTimeSkippingWorker({ name: 'rollout-split-test' });
  ({ env, taskQueue, db, flags, alerts } = stack);
});

afterAll(async () => {
  await stack?.close();
});

/** A string flag with three variants, on, serving `control` to everyone. */
async function newVariantFlag(): Promise<string> {
  const key = uniqueKey('split-rollout');
  await flags.createFlag({ key, name: key, type: 'string' }, { actor: BOOTSTRAP_ACTOR });
  await flags.updateConfig(key, 'production', {
    enabled: true,
    variants: [{ name: 'control', value: 'list' }, { name: 'compact', value: 'compact-list' }, { name: 'wide', value: 'wide-grid' }],
    on_variant: 'control', off_variant: 'control',
    split: [{ variant: 'control', weight: 100 }],
  }, undefined, { actor: BOOTSTRAP_ACTOR });
  return key;
}

const STEPS = [
  { split: [{ variant: 'compact', weight: 20 }, { variant: 'control', weight: 80 }], hold: '1 day' },
  { split: [{ variant: 'compact', weight: 30 }, { variant: 'wide', weight: 20 }, { variant: 'control', weight: 50 }], hold: '1 day' },
];

function start(flagKey: string, plan: unknown) {
  return env.client.workflow.start<typeof rollout>('rollout', {
    taskQueue,
    workflowId: rolloutWorkflowId('production', flagKey),
    args: [{ rolloutId: randomUUID(), flagKey, environment: 'production', plan: rolloutPlanSchema.parse(plan), actor }],
  });
}

async function skipUntil(handle: { query: (q: typeof progressQuery) => Promise<RolloutProgress> }, done: (p: RolloutProgress) => boolean) {
  for (let i = 0; i < 200; i++) {
    const progress = await handle.query(progressQuery);
    if (done(progress)) return progress;
    await env.sleep('10 minutes');
  }
  throw new Error('the rollout never reached the expected state');
}

async function splitAudits(flagKey: string): Promise<string[]> {
  const result = await db.query(`SELECT metadata->>'label' AS label FROM audit_events WHERE resource_id = $1 AND action LIKE 'rollout.%' ORDER BY seq`, [flagKey]);
  return result.rows.map((r: { label: string }) => r.label);
}

describe('split rollout workflow (time-skipping)', () => {
  it('sets each step\'s split in turn, reports the share it moved, and writes each step once', async () => {
    const key = await newVariantFlag();
    const handle = await start(key, { strategy: 'split', steps: STEPS });
    const first = await skipUntil(handle, (p) => p.history.length === 1);
    expect(first).toMatchObject({
      strategy: 'split', status: 'running', step: 0, totalSteps: 2, percentage: 20,
      split: STEPS[0]!.split, startSplit: [{ variant: 'control', weight: 100 }],
      summary: 'split: compact 20 / control 80 → compact 30 / wide 20 / control 50',
    });
    expect((await flags.getConfig(key, 'production')).split).toEqual(STEPS[0]!.split);

    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', percentage: 50, split: STEPS[1]!.split });
    expect(result.history.map((h) => [h.label, h.percentage])).toEqual([['step:0', 20], ['step:1', 50]]);
    const config = await flags.getConfig(key, 'production');
    expect(config).toMatchObject({ enabled: true, split: STEPS[1]!.split });
    expect(config.rollout ?? null).toBeNull();
    expect(await splitAudits(key)).toEqual(['step:0', 'step:1']);
  });

  it('judges the variants it moves traffic to against the rest, and a breach restores the starting split', async () => {
    const key = await newVariantFlag();
    const handle = await start(key, {
      strategy: 'split', steps: STEPS,
      guard: { source: 'events', max_error_rate_increase: 0.05, min_samples: 50, interval: '5 minutes' },
    });
    await skipUntil(handle, (p) => p.history.length === 2);
    // Step 2 moves traffic to compact and wide (treated); control is the untreated cohort.
    await recordOutcomes(db, 'production', 'token:test', new Date(await env.currentTimeMs()), [
      { flagKey: key, variant: 'compact', outcome: 'success', count: 50 },
      { flagKey: key, variant: 'wide', outcome: 'error', count: 30 }, { flagKey: key, variant: 'wide', outcome: 'success', count: 20 },
      { flagKey: key, variant: 'control', outcome: 'error', count: 1 }, { flagKey: key, variant: 'control', outcome: 'success', count: 99 },
    ]);
    const result = await handle.result();
    expect(result.status).toBe('rolled_back');
    expect(result.guard?.breach?.detail).toMatch(/treated error rate 30\.00% exceeds untreated 1\.00%/);
    expect(result).toMatchObject({ percentage: 0, split: [{ variant: 'control', weight: 100 }] });
    expect(result.history.map((h) => h.label)).toEqual(['step:0', 'step:1', 'rollback']);
    expect((await flags.getConfig(key, 'production'))).toMatchObject({ enabled: true, split: [{ variant: 'control', weight: 100 }] });
    expect(alerts.some((a) => a.flagKey === key && a.title === 'Rollout rolled back')).toBe(true);
  });

  it('restores a percentage config it started from when aborted with rollback', async () => {
    const key = await newVariantFlag();
    await flags.updateConfig(key, 'production', {
      enabled: true,
      variants: [{ name: 'control', value: 'list' }, { name: 'compact', value: 'compact-list' }],
      on_variant: 'compact', off_variant: 'control',
      rollout: { percentage: 5, strategy: 'immediate' },
    }, undefined, { actor: BOOTSTRAP_ACTOR });
    const handle = await start(key, { strategy: 'split', steps: [{ split: [{ variant: 'compact', weight: 40 }, { variant: 'control', weight: 60 }], hold: '1 day' }, { split: [{ variant: 'compact', weight: 100 }] }] });
    const first = await skipUntil(handle, (p) => p.history.length === 1);
    expect(first).toMatchObject({ startSplit: [{ variant: 'compact', weight: 5 }, { variant: 'control', weight: 95 }], percentage: 35 });
    await handle.executeUpdate(abortUpdate, { args: [{ rollback: true, reason: 'wrong audience' }] });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'aborted', percentage: 0 });
    const config = await flags.getConfig(key, 'production');
    expect(config).toMatchObject({ enabled: true, rollout: { percentage: 5, strategy: 'immediate' } });
    expect(config.split ?? null).toBeNull();
  });

  it('pauses when a step names a variant the config no longer declares, and goes on once it is back and resumed', async () => {
    const key = await newVariantFlag();
    const handle = await start(key, { strategy: 'split', steps: STEPS });
    await skipUntil(handle, (p) => p.history.length === 1);
    const withVariants = (names: string[]) => ({
      enabled: true, on_variant: 'control', off_variant: 'control', split: STEPS[0]!.split,
      variants: [{ name: 'control', value: 'list' }, { name: 'compact', value: 'compact-list' }, { name: 'wide', value: 'wide-grid' }].filter((v) => names.includes(v.name)),
    });
    await flags.updateConfig(key, 'production', withVariants(['control', 'compact']), undefined, { actor: BOOTSTRAP_ACTOR });
    const paused = await skipUntil(handle, (p) => p.status === 'paused');
    expect(paused.pausedReason).toBe(`step 2 can't apply: variant 'wide' is no longer declared by the config of '${key}' in 'production'`);
    expect((await flags.getConfig(key, 'production')).split).toEqual(STEPS[0]!.split);

    await flags.updateConfig(key, 'production', withVariants(['control', 'compact', 'wide']), undefined, { actor: BOOTSTRAP_ACTOR });
    await handle.executeUpdate(resumeUpdate, { args: [{}] });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', split: STEPS[1]!.split });
    expect(await splitAudits(key)).toEqual(['step:0', 'step:1']);
  });
});
