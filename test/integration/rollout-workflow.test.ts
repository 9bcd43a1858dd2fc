import { randomUUID } from 'node:crypto';
import type { Duration } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../activities/alerts.js';
import { BOOTSTRAP_ACTOR } from '../../src/auth/principal.js';
import { rolloutPlanSchema } from '../../src/domain/rollout-plan.js';
import type { FlagService } from '../../src/flags/flag-service.js';
import type { Database } from '../../src/connections/database.js';
import { recordOutcomes } from '../../src/flag-metrics/event-store.js';
import { rolloutWorkflowId } from '../../src/temporal/workflow-ids.js';
import {
  abortUpdate, approveUpdate, pauseUpdate, progressQuery, resumeUpdate, type RolloutProgress,
} from '../../workflows/rollout-messages.js';
import type { rollout } from '../../workflows/rollout.js';
import { answerVector, startFakePrometheus } from './fake-prometheus.js';
import { uniqueKey } from './harness.js';
import { startTimeSkippingWorker, type TimeSkippingWorker } from './time-skipping.js';

// Time-skipping tests: the Temporal test server skips timers, so a two-day rollout takes a moment.
// Activities are the real ones, on the real Postgres and Redis.

let stack: TimeSkippingWorker;
let env: TestWorkflowEnvironment;
let taskQueue: string;
let db: Database;
let prometheus: Awaited<ReturnType<typeof startFakePrometheus>>;
let prometheusValue = 0;
let alerts: Alert[];
const actor = { id: BOOTSTRAP_ACTOR.id, name: BOOTSTRAP_ACTOR.name };
let flags: FlagService;

beforeAll(async () => {
  prometheus = await startFakePrometheus((query, res) => answerVector(res, String(prometheusValue), { query }));
  stack = await startTimeSkippingWorker({ name: 'rollout-test', prometheusUrl: prometheus.url });
  ({ env, taskQueue, db, flags, alerts } = stack);
});

afterAll(async () => {
  await stack?.close();
  await prometheus?.close();
});

async function newFlag(): Promise<string> {
  const key = uniqueKey('rollout');
  await flags.createFlag({ key, name: key, type: 'boolean' }, { actor: BOOTSTRAP_ACTOR });
  return key;
}

function start(flagKey: string, plan: unknown, maxHistoryEvents?: number) {
  return env.client.workflow.start<typeof rollout>('rollout', {
    taskQueue,
    workflowId: rolloutWorkflowId('production', flagKey),
    args: [{ rolloutId: randomUUID(), flagKey, environment: 'production', plan: rolloutPlanSchema.parse(plan), actor, maxHistoryEvents }],
  });
}

async function productionConfig(flagKey: string) {
  return flags.getConfig(flagKey, 'production');
}

async function stepAudits(flagKey: string): Promise<Array<{ label: string; n: number }>> {
  const result = await db.query(
    `SELECT metadata->>'label' AS label, count(*)::int AS n FROM audit_events
      WHERE resource_id = $1 AND action LIKE 'rollout.%' GROUP BY 1 ORDER BY min(seq)`,
    [flagKey],
  );
  return result.rows;
}

/** The validator's message of a refused update. */
async function refusal(update: Promise<unknown>): Promise<string> {
  const error = await update.then(() => undefined, (e: { cause?: { message?: string } }) => e);
  return error?.cause?.message ?? 'not refused';
}

/** Moves test time forward until the workflow reports what we wait for (bounded). */
async function skipUntil(handle: { query: (q: typeof progressQuery) => Promise<RolloutProgress> }, done: (p: RolloutProgress) => boolean, step: Duration = '30 minutes') {
  for (let i = 0; i < 200; i++) {
    const progress = await handle.query(progressQuery);
    if (done(progress)) return progress;
    await env.sleep(step);
  }
  throw new Error('the rollout never reached the expected state');
}

describe('rollout workflow (time-skipping)', () => {
  it('runs a two-day gradual rollout 1 → 5 → 25 → 50 → 100, each step written and audited once', async () => {
    const key = await newFlag();
    const handle = await start(key, {
      strategy: 'gradual',
      steps: [
        { percentage: 1, hold: '12 hours' }, { percentage: 5, hold: '12 hours' }, { percentage: 25, hold: '12 hours' },
        { percentage: 50, hold: '12 hours' }, { percentage: 100 },
      ],
    });
    const mid = await skipUntil(handle, (p) => p.percentage === 25);
    expect(mid).toMatchObject({ status: 'running', step: 2, totalSteps: 5 });
    expect(mid.nextChangeAt).not.toBeNull();

    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.history.map((h) => h.percentage)).toEqual([1, 5, 25, 50, 100]);
    const config = await productionConfig(key);
    expect(config).toMatchObject({ enabled: true, rollout: { percentage: 100, strategy: 'gradual' } });
    expect(await stepAudits(key)).toEqual([0, 1, 2, 3, 4].map((i) => ({ label: `step:${i}`, n: 1 })));
    const readModel = await db.query('SELECT status, finished_at FROM rollouts WHERE workflow_id = $1', [handle.workflowId]);
    expect(readModel.rows[0].status).toBe('completed');
    expect(readModel.rows[0].finished_at).toBeInstanceOf(Date);
  });

  it('continues as new when its history grows, carrying its state and writing each step once', async () => {
    const key = await newFlag();
    const percentages = [1, 2, 5, 10, 15, 20, 30, 40, 50, 60, 80, 100];
    const handle = await start(key, { strategy: 'gradual', steps: percentages.map((percentage) => ({ percentage, hold: '6 hours' })) }, 40);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.history.map((h) => h.percentage)).toEqual(percentages);
    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    expect(await stepAudits(key)).toEqual(percentages.map((_, i) => ({ label: `step:${i}`, n: 1 })));
  });

  it('turns a scheduled rollout on at start_date and off at end_date', async () => {
    const key = await newFlag();
    const now = await env.currentTimeMs();
    const handle = await start(key, {
      strategy: 'scheduled', percentage: 100,
      start_date: new Date(now + 24 * 3600_000).toISOString(), end_date: new Date(now + 48 * 3600_000).toISOString(),
    });
    await env.sleep('23 hours');
    expect((await handle.query(progressQuery)).percentage).toBeNull();
    expect((await productionConfig(key)).enabled).toBe(false);
    await skipUntil(handle, (p) => p.percentage === 100);
    expect(await productionConfig(key)).toMatchObject({ enabled: true, rollout: { percentage: 100, strategy: 'scheduled' } });
    const result = await handle.result();
    expect(result.history.map((h) => h.percentage)).toEqual([100, 'off']);
    expect((await productionConfig(key)).enabled).toBe(false);
  });

  it('pauses when an approval times out, and goes on once approved', async () => {
    const key = await newFlag();
    const handle = await start(key, {
      strategy: 'gradual', approval_timeout: '2 hours',
      steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 50, approval: true }],
    });
    const waiting = await skipUntil(handle, (p) => p.status === 'waiting_approval', '10 minutes');
    expect(waiting.percentage).toBe(10);
    // The deadline people see: the approval timeout after the gate was reached (the 1 hour hold after step 1).
    const untilDeadline = Date.parse(waiting.approvalDeadline!) - Date.parse(waiting.history[0]!.at);
    expect(untilDeadline).toBeGreaterThanOrEqual(3 * 3600_000);
    expect(untilDeadline).toBeLessThan(3 * 3600_000 + 60_000);
    expect(alerts.some((a) => a.flagKey === key && a.title === 'Rollout step waiting for approval')).toBe(true);
    const paused = await skipUntil(handle, (p) => p.status === 'paused');
    expect(paused.pausedReason).toBe('approval of step 2 timed out');
    expect(paused.approvalDeadline).toBeNull();
    await env.sleep('3 days');
    expect((await handle.query(progressQuery)).percentage).toBe(10);

    await handle.executeUpdate(approveUpdate, { args: [{ by: 'release manager' }] });
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.percentage).toBe(50);
  });

  it('holds while paused and continues after resume', async () => {
    const key = await newFlag();
    const handle = await start(key, { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 day' }, { percentage: 100 }] });
    await skipUntil(handle, (p) => p.percentage === 10, '1 hour');
    expect(await refusal(handle.executeUpdate(resumeUpdate, { args: [{}] }))).toBe('the rollout is not paused');
    const paused = await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'checking dashboards' }] });
    expect(paused).toMatchObject({ status: 'paused', pausedReason: 'checking dashboards' });
    await env.sleep('3 days');
    expect((await handle.query(progressQuery)).percentage).toBe(10);
    await handle.executeUpdate(resumeUpdate, { args: [{}] });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', percentage: 100 });
  });

  it('aborts with rollback to 0%', async () => {
    const key = await newFlag();
    const handle = await start(key, { strategy: 'gradual', steps: [{ percentage: 20, hold: '1 day' }, { percentage: 100 }] });
    await skipUntil(handle, (p) => p.percentage === 20, '1 hour');
    expect(await refusal(handle.executeUpdate(abortUpdate, { args: [{ rollback: 'yes' as never }] }))).toBe('abort needs rollback: true or false');
    await handle.executeUpdate(abortUpdate, { args: [{ rollback: true, reason: 'wrong cohort' }] });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'aborted', percentage: 0 });
    await expect(handle.executeUpdate(pauseUpdate, { args: [{}] })).rejects.toThrow();
    expect((await productionConfig(key)).rollout).toMatchObject({ percentage: 0 });
    expect(await stepAudits(key)).toEqual([{ label: 'step:0', n: 1 }, { label: 'abort', n: 1 }]);
  });

  it('rolls back automatically and alerts when the treated cohort breaches the error rate', async () => {
    const key = await newFlag();
    const handle = await start(key, {
      strategy: 'gradual',
      steps: [{ percentage: 10, hold: '1 day' }, { percentage: 100 }],
      guard: { source: 'events', max_error_rate_increase: 0.05, min_samples: 50, interval: '5 minutes' },
    });
    await skipUntil(handle, (p) => p.percentage === 10, '1 minute');
    const at = new Date(await env.currentTimeMs());
    await recordOutcomes(db, 'production', 'token:test', at, [
      { flagKey: key, variant: 'on', outcome: 'error', count: 40 }, { flagKey: key, variant: 'on', outcome: 'success', count: 60 },
      { flagKey: key, variant: 'off', outcome: 'error', count: 1 }, { flagKey: key, variant: 'off', outcome: 'success', count: 99 },
    ]);
    const result = await handle.result();
    expect(result.status).toBe('rolled_back');
    expect(result.percentage).toBe(0);
    expect(result.guard?.breach?.detail).toMatch(/treated error rate 40\.00% exceeds untreated 1\.00%/);
    expect((await productionConfig(key)).rollout).toMatchObject({ percentage: 0 });
    expect(alerts.some((a) => a.flagKey === key && a.title === 'Rollout rolled back')).toBe(true);
  });

  it('completes when the treated cohort stays healthy', async () => {
    const key = await newFlag();
    const handle = await start(key, {
      strategy: 'gradual',
      steps: [{ percentage: 10, hold: '2 hours' }, { percentage: 100 }],
      guard: { source: 'events', max_error_rate: 0.1, min_samples: 50, interval: '10 minutes' },
    });
    await skipUntil(handle, (p) => p.percentage === 10, '1 minute');
    await recordOutcomes(db, 'production', 'token:test', new Date(await env.currentTimeMs()), [
      { flagKey: key, variant: 'on', outcome: 'error', count: 2 }, { flagKey: key, variant: 'on', outcome: 'success', count: 198 },
    ]);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.guard?.readings.length).toBeGreaterThan(0);
    expect(result.guard?.readings.every((r) => !r.breached)).toBe(true);
  });

  it('rolls back on a breach while a step still waits for its approval', async () => {
    const key = await newFlag();
    const handle = await start(key, {
      strategy: 'gradual', approval_timeout: '7 days',
      steps: [{ percentage: 10 }, { percentage: 50, approval: true }],
      guard: { source: 'events', max_error_rate: 0.2, min_samples: 10, interval: '15 minutes' },
    });
    await skipUntil(handle, (p) => p.status === 'waiting_approval', '1 minute');
    await recordOutcomes(db, 'production', 'token:test', new Date(await env.currentTimeMs()), [{ flagKey: key, variant: 'on', outcome: 'error', count: 30 }]);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'rolled_back', percentage: 0 });
    expect(result.history.map((h) => h.label)).toEqual(['step:0', 'rollback']);
  });

  it('reads a Prometheus query and rolls back above the threshold', async () => {
    const key = await newFlag();
    prometheusValue = 0.01;
    const handle = await start(key, {
      strategy: 'gradual',
      steps: [{ percentage: 5, hold: '1 day' }, { percentage: 100 }],
      guard: { source: 'prometheus', query: `rate(errors{flag="${key}"}[5m])`, threshold: 0.05, interval: '10 minutes' },
    });
    const healthy = await skipUntil(handle, (p) => (p.guard?.readings.length ?? 0) >= 2, '5 minutes');
    expect(healthy.guard?.readings[0]).toMatchObject({ source: 'prometheus', value: 0.01, breached: false });
    prometheusValue = 0.5;
    const result = await handle.result();
    expect(result.status).toBe('rolled_back');
    expect(result.guard?.breach).toMatchObject({ value: 0.5, breached: true });
  });
});
