import { randomUUID } from 'node:crypto';
import type { Duration } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../activities/alerts.js';
import { BOOTSTRAP_ACTOR } from '../../src/auth/principal.js';
import { audienceRuleId, newTemplateSchema, type PipelineProgress, type PolicyGate } from '../../src/domain/release-pipeline.js';
import { applyAudience } from '../../src/release-pipelines/pipeline-audience.js';
import { withTransaction } from '../../src/connections/database.js';
import { insertSegment, nextSegmentRevision } from '../../src/segments/segment-store.js';
import type { FlagService } from '../../src/flags/flag-service.js';
import type { Database } from '../../src/connections/database.js';
import { pipelineWorkflowId, rolloutWorkflowId } from '../../src/temporal/workflow-ids.js';
import {
  abortPipelineUpdate, approvePhaseUpdate, pausePipelineUpdate, pipelineKillSignal, pipelineProgressQuery, resumePipelineUpdate,
} from '../../workflows/release-pipeline-messages.js';
import type { releasePipeline } from '../../workflows/release-pipeline.js';
import { answerVector, startFakePrometheus } from './fake-prometheus.js';
import { uniqueKey } from './harness.js';
import { startTimeSkippingWorker, type TimeSkippingWorker } from './time-skipping.js';

// Time-skipping tests of the releasePipeline workflow: its phases run the real rollout workflow as
// children, with the real activities on the real Postgres and Redis; a day of soak takes a moment.

let stack: TimeSkippingWorker;
let env: TestWorkflowEnvironment;
let db: Database;
let flags: FlagService;
let prometheus: Awaited<ReturnType<typeof startFakePrometheus>>;
let alerts: Alert[];
const starter = { id: BOOTSTRAP_ACTOR.id, name: BOOTSTRAP_ACTOR.name };

beforeAll(async () => {
  // A Prometheus that reports an error rate of 1 for queries naming "breach", 0 otherwise.
  prometheus = await startFakePrometheus((query, res) => answerVector(res, query.includes('breach') ? '1' : '0'));
  stack = await startTimeSkippingWorker({ name: 'pipeline-test', prometheusUrl: prometheus.url });
  ({ env, db, flags, alerts } = stack);
});

afterAll(async () => {
  await stack?.close();
  await prometheus?.close();
});

async function newFlag(): Promise<string> {
  const key = uniqueKey('pipeline');
  await flags.createFlag({ key, name: key, type: 'boolean' }, { actor: BOOTSTRAP_ACTOR });
  return key;
}

function start(flagKey: string, phases: unknown[], policyGates?: Array<PolicyGate | null>) {
  const template = newTemplateSchema.parse({ name: 'three-phases', phases });
  return env.client.workflow.start<typeof releasePipeline>('releasePipeline', {
    taskQueue: stack.taskQueue,
    workflowId: pipelineWorkflowId(flagKey),
    // The test server hangs starting a child with custom search attributes (rollout-api's pipeline test checks them on the real server).
    args: [{ pipelineId: randomUUID(), flagKey, template: template.name, phases: template.phases, actor: starter, tagChildren: false, ...(policyGates ? { policyGates } : {}) }],
  });
}

type Handle = Awaited<ReturnType<typeof start>>;

/** Moves test time forward until the pipeline reports what we wait for (bounded). */
async function skipUntil(handle: Handle, done: (p: PipelineProgress) => boolean, step: Duration = '10 minutes') {
  for (let i = 0; i < 300; i++) {
    const progress = await handle.query(pipelineProgressQuery);
    if (done(progress)) return progress;
    await env.sleep(step);
  }
  throw new Error('the pipeline never reached the expected state');
}

/** The validator's message of a refused update. */
async function refusal(update: Promise<unknown>): Promise<string> {
  const error = await update.then(() => undefined, (e: { cause?: { message?: string } }) => e);
  return error?.cause?.message ?? 'not refused';
}

const rolloutOf = async (key: string, environment: string) => (await flags.getConfig(key, environment)).rollout;

describe('releasePipeline workflow (time-skipping)', () => {
  it('advances development → staging (soak 1 day) → production behind an approval by someone else, each phase a child rollout', async () => {
    const key = await newFlag();
    const handle = await start(key, [
      { environment: 'development', plan: { strategy: 'immediate', percentage: 100 } },
      { name: 'staging soak', environment: 'staging', plan: { strategy: 'gradual', steps: [{ percentage: 25, hold: '1 hour' }, { percentage: 100 }] }, soak: '1 day' },
      { environment: 'production', approval: { role: 'editor' }, plan: { strategy: 'gradual', steps: [{ percentage: 50, hold: '2 hours' }, { percentage: 100 }] } },
    ]);

    const soaking = await skipUntil(handle, (p) => p.phases[1]!.status === 'soaking', '5 minutes');
    expect(soaking).toMatchObject({ status: 'soaking', phase: 1 });
    expect(soaking.phases[0]).toMatchObject({ status: 'completed', workflowId: rolloutWorkflowId('development', key) });
    expect(soaking.phases[1]!.soakUntil).not.toBeNull();
    expect(await rolloutOf(key, 'staging')).toMatchObject({ percentage: 100 });
    expect(await rolloutOf(key, 'production')).toBeFalsy();

    const waiting = await skipUntil(handle, (p) => p.status === 'waiting_approval', '2 hours');
    // The soak held production back a full day after staging's rollout finished.
    const soakedFor = (await env.currentTimeMs()) - Date.parse(waiting.phases[1]!.finishedAt!);
    expect(soakedFor).toBeGreaterThanOrEqual(24 * 3600_000);
    expect(waiting.phases[1]!.status).toBe('completed');
    expect(waiting.phases[2]).toMatchObject({ status: 'waiting_approval', approval: { role: 'editor' }, startedAt: null });
    expect(alerts.some((a) => a.flagKey === key && a.title === 'Release pipeline waiting for approval')).toBe(true);
    await env.sleep('3 days');
    expect(await rolloutOf(key, 'production')).toBeFalsy();

    expect(await refusal(handle.executeUpdate(approvePhaseUpdate, { args: [{ by: { ...starter, role: 'admin' } }] })))
      .toMatch(/whoever started the pipeline can’t approve/);
    expect(await refusal(handle.executeUpdate(approvePhaseUpdate, { args: [{ by: { id: 'u-viewer', name: 'Vera', role: 'viewer' } }] })))
      .toMatch(/needs a editor \(or an admin\)/);
    await handle.executeUpdate(approvePhaseUpdate, { args: [{ by: { id: 'u-editor', name: 'Eddie', role: 'editor' } }] });

    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.reason).toBeNull();
    expect(result.phases.map((p) => p.status)).toEqual(['completed', 'completed', 'completed']);
    expect(result.phases[2]!.approvals).toEqual([expect.objectContaining({ by: 'u-editor', name: 'Eddie', role: 'editor' })]);
    expect(result.phases.map((p) => p.workflowId)).toEqual(['development', 'staging', 'production'].map((e) => rolloutWorkflowId(e, key)));
    for (const environment of ['development', 'staging', 'production']) expect(await rolloutOf(key, environment)).toMatchObject({ percentage: 100 });

    // Each phase's rollout is a child of the pipeline, in the rollouts read model like any rollout.
    const child = await env.client.workflow.getHandle(rolloutWorkflowId('production', key)).describe();
    expect(child.raw.workflowExecutionInfo?.parentExecution?.workflowId).toBe(handle.workflowId);
    const rollouts = await db.query(
      `SELECT r.environment, r.status FROM rollouts r JOIN flags f ON f.id = r.flag_id WHERE f.key = $1 ORDER BY r.created_at`, [key]);
    expect(rollouts.rows).toEqual(['development', 'staging', 'production'].map((environment) => ({ environment, status: 'completed' })));
    const readModel = await db.query('SELECT status, finished_at FROM release_pipelines WHERE workflow_id = $1 ORDER BY created_at DESC LIMIT 1', [handle.workflowId]);
    expect(readModel.rows[0]).toMatchObject({ status: 'completed', finished_at: expect.any(Date) });
  });

  it('stops the whole pipeline when phase 2’s guard trips: staging rolls back, production never starts', async () => {
    const key = await newFlag();
    const handle = await start(key, [
      { environment: 'development', plan: { strategy: 'immediate', percentage: 100 } },
      {
        environment: 'staging', plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '2 hours' }, { percentage: 100 }] },
        guard: { source: 'prometheus', query: `breach_rate{flag="${key}"}`, threshold: 0.5, interval: '5 minutes' },
      },
      { environment: 'production', plan: { strategy: 'immediate', percentage: 100 } },
    ]);
    const result = await handle.result();
    expect(result.status).toBe('stopped');
    expect(result.reason).toMatch(/^phase 2 \(staging\) in staging: guard breached: /);
    expect(result.phases.map((p) => p.status)).toEqual(['completed', 'rolled_back', 'not_started']);
    expect(result.phases[1]!.breach).toMatchObject({ source: 'prometheus', breached: true, value: 1 });
    expect(result.phases[2]).toMatchObject({ startedAt: null, workflowId: null });
    expect(await rolloutOf(key, 'staging')).toMatchObject({ percentage: 0 });
    expect(await rolloutOf(key, 'production')).toBeFalsy();
    expect(alerts.some((a) => a.flagKey === key && a.title === 'Release pipeline stopped')).toBe(true);
    const stopped = await db.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'pipeline.stopped' AND resource_id = $1`, [key]);
    expect(stopped.rows[0].n).toBe(1);
  });

  it('pauses its running phase with it, stops on a kill in one of its environments, and refuses steering once stopped', async () => {
    const key = await newFlag();
    const handle = await start(key, [
      { environment: 'staging', plan: { strategy: 'gradual', steps: [{ percentage: 20, hold: '1 day' }, { percentage: 100 }] } },
      { environment: 'production', plan: { strategy: 'immediate', percentage: 100 } },
    ]);
    await skipUntil(handle, (p) => p.phases[0]!.status === 'running', '1 minute');
    const child = env.client.workflow.getHandle(rolloutWorkflowId('staging', key));
    await handle.executeUpdate(pausePipelineUpdate, { args: [{ reason: 'looking at dashboards' }] });
    await skipUntil(handle, () => true);
    const pausedChild = await pollChild(child, (p) => p.status === 'paused');
    expect(pausedChild.pausedReason).toMatch(/release pipeline paused: looking at dashboards/);
    await handle.executeUpdate(resumePipelineUpdate, { args: [{}] });
    await pollChild(child, (p) => p.status === 'running');

    // A kill elsewhere (an environment this pipeline does not release to) changes nothing.
    await handle.signal(pipelineKillSignal, { environment: 'development', reason: 'unrelated' });
    expect((await handle.query(pipelineProgressQuery)).reason).toBeNull();
    await handle.signal(pipelineKillSignal, { environment: 'staging', reason: 'error spike' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'stopped', reason: 'kill switch activated in staging: error spike' });
    expect(result.phases.map((p) => p.status)).toEqual(['aborted', 'not_started']);
    expect(await child.result()).toMatchObject({ status: 'aborted', percentage: 20 });
    await expect(handle.executeUpdate(abortPipelineUpdate, { args: [{ rollback: true, reason: 'late' }] })).rejects.toThrow();
  });
});

type ChildHandle = ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>;
async function pollChild(child: ChildHandle, done: (p: { status: string; pausedReason: string | null }) => boolean) {
  for (let i = 0; i < 100; i++) {
    const progress = await child.query<{ status: string; pausedReason: string | null }>('progress');
    if (done(progress)) return progress;
    await env.sleep('1 minute');
  }
  throw new Error('the phase rollout never reached the expected state');
}

/** A rule segment (country = key) that audiences can name. */
async function newSegment(): Promise<string> {
  const key = uniqueKey('audience');
  await withTransaction(db, async (tx) => insertSegment(tx, {
    key, name: key, description: '', kind: 'rule', conditions: [{ field: 'country', operator: 'equals', value: key }], version: await nextSegmentRevision(tx), actor: starter.id,
  }));
  return key;
}

const auditCount = async (key: string, action: string) =>
  (await db.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = $1 AND resource_id = $2`, [action, key])).rows[0].n as number;

describe('releasePipeline audience phases (time-skipping)', () => {
  it('serves staging’s audience, soaks a day, then serves production’s audience before its rollout', async () => {
    const key = await newFlag();
    const internal = await newSegment();
    const beta = await newSegment();
    const handle = await start(key, [
      { name: 'internal', environment: 'staging', audience: { segments: [internal] }, soak: '1 day' },
      { environment: 'production', audience: { segments: [beta], variant: 'on' }, plan: { strategy: 'gradual', steps: [{ percentage: 50, hold: '2 hours' }, { percentage: 100 }] } },
    ]);

    const soaking = await skipUntil(handle, (p) => p.phases[0]!.status === 'soaking', '5 minutes');
    expect(soaking.phases[0]).toMatchObject({ audience: { segments: [internal], variant: null }, audienceAt: expect.any(String), workflowId: null });
    expect(soaking.phases[0]!.summary).toBe(`audience ${internal} → the on variant`);
    const staging = await flags.getConfig(key, 'staging');
    // The disabled config is turned on for the audience only: everyone else stays at a 0% rollout.
    expect(staging).toMatchObject({ enabled: true, rollout: { percentage: 0 }, targeting: [{ id: audienceRuleId(0), segments: [internal], percentage: 100 }] });
    expect((await flags.getConfig(key, 'production')).targeting).toEqual([]);

    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.phases.map((p) => p.status)).toEqual(['completed', 'completed']);
    // The soak held production back a full day after staging's audience.
    expect(Date.parse(result.phases[1]!.audienceAt!) - Date.parse(result.phases[0]!.audienceAt!)).toBeGreaterThanOrEqual(24 * 3600_000);
    expect(result.phases[1]!.summary).toMatch(new RegExp(`^audience ${beta} → variant on; then gradual: `));
    expect(await flags.getConfig(key, 'production')).toMatchObject({
      enabled: true, rollout: { percentage: 100 }, targeting: [{ id: audienceRuleId(1), segments: [beta], variant: 'on' }],
    });
    expect((await flags.getConfig(key, 'staging')).targeting.map((t) => t.id)).toEqual([audienceRuleId(0)]);
    // One audit event per audience, naming whoever started the pipeline and the pipeline.
    const applied = await db.query(
      `SELECT user_id, environment, metadata FROM audit_events WHERE action = 'pipeline.audience_applied' AND resource_id = $1 ORDER BY seq`, [key]);
    expect(applied.rows).toEqual([
      { user_id: starter.id, environment: 'staging', metadata: expect.objectContaining({ workflowId: handle.workflowId, phase: 1 }) },
      { user_id: starter.id, environment: 'production', metadata: expect.objectContaining({ workflowId: handle.workflowId, phase: 2 }) },
    ]);
  });

  it('a kill in the audience’s environment stops the pipeline and takes the audience back out (the config off again)', async () => {
    const key = await newFlag();
    const internal = await newSegment();
    const handle = await start(key, [
      { environment: 'staging', audience: { segments: [internal] }, soak: '1 day' },
      { environment: 'production', plan: { strategy: 'immediate', percentage: 100 } },
    ]);
    await skipUntil(handle, (p) => p.phases[0]!.status === 'soaking', '5 minutes');
    await handle.signal(pipelineKillSignal, { environment: 'staging', reason: 'error spike' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'stopped', reason: 'kill switch activated in staging: error spike' });
    expect(result.phases.map((p) => p.status)).toEqual(['completed', 'not_started']);
    expect(await flags.getConfig(key, 'staging')).toMatchObject({ enabled: false, targeting: [] });
    expect(await auditCount(key, 'pipeline.audience_removed')).toBe(1);
  });

  it('fails the pipeline (no retries) when the audience’s variant is not declared, writing nothing', async () => {
    const key = await newFlag();
    const handle = await start(key, [{ environment: 'staging', audience: { segments: [await newSegment()], variant: 'wide' } }]);
    const result = await handle.result();
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/phase 1 \(staging\) in staging: its audience can’t be served: variant 'wide' is not declared/);
    expect(await flags.getConfig(key, 'staging')).toMatchObject({ enabled: false, targeting: [] });
    expect(await auditCount(key, 'pipeline.audience_applied')).toBe(0);
  });

  it('writes an audience once however often the activity is retried', async () => {
    const key = await newFlag();
    const change = {
      pipelineId: randomUUID(), workflowId: pipelineWorkflowId(key), flagKey: key, environment: 'development', phaseIndex: 0,
      phaseName: 'phase 1 (development)', audience: { segments: [await newSegment()] }, actor: starter,
    };
    const first = await withTransaction(db, (tx) => applyAudience(tx, change));
    const again = await withTransaction(db, (tx) => applyAudience(tx, change));
    expect([first.changed, again.changed]).toEqual([true, false]);
    expect(again.definition.version).toBe(first.definition.version);
    expect(await auditCount(key, 'pipeline.audience_applied')).toBe(1);
  });
});

describe('releasePipeline policy gates (time-skipping)', () => {
  it('holds a phase for its 2-approval policy gate and its own admin gate: one approval does not start it, the second does', async () => {
    const key = await newFlag();
    const gate: PolicyGate = { environment: 'production', requiredApprovals: 2, approverUserIds: [], approverRole: null, covers: ['rollouts'] };
    const handle = await start(key, [
      { environment: 'staging', plan: { strategy: 'immediate', percentage: 100 } },
      { environment: 'production', approval: { role: 'admin' }, plan: { strategy: 'immediate', percentage: 100 } },
    ], [null, gate]);
    const waiting = await skipUntil(handle, (p) => p.status === 'waiting_approval');
    expect(waiting.phases[0]).toMatchObject({ status: 'completed', policy: null });
    expect(waiting.phases[1]).toMatchObject({ status: 'waiting_approval', policy: gate, startedAt: null });
    expect(alerts.some((a) => a.flagKey === key && /needs a admin and 2 approvals under production’s change policy/.test(a.reason))).toBe(true);

    const editor = { id: 'u-editor', name: 'Eddie', role: 'editor' as const };
    expect(await refusal(handle.executeUpdate(approvePhaseUpdate, { args: [{ by: { ...starter, role: 'admin' }, policyEligible: true }] })))
      .toMatch(/self-approval is refused/);
    expect(await refusal(handle.executeUpdate(approvePhaseUpdate, { args: [{ by: editor, policyEligible: false }] })))
      .toMatch(/production’s change policy takes approvals only from users who may change flags in production/);

    // One approval: the policy gate has 1 of 2, the admin gate none; the phase does not start, however long it waits.
    const first = await handle.executeUpdate(approvePhaseUpdate, { args: [{ by: editor, policyEligible: true }] });
    expect(first.phases[1]!.approvals).toEqual([expect.objectContaining({ by: 'u-editor', counts: ['policy'] })]);
    await env.sleep('1 day');
    expect((await handle.query(pipelineProgressQuery)).phases[1]!.status).toBe('waiting_approval');
    expect(await rolloutOf(key, 'production')).toBeFalsy();
    expect(await refusal(handle.executeUpdate(approvePhaseUpdate, { args: [{ by: editor, policyEligible: true }] })))
      .toMatch(/already approved this phase/);

    // The second, by an admin the policy allows, counts for both gates: the phase starts.
    await handle.executeUpdate(approvePhaseUpdate, { args: [{ by: { id: 'u-admin', name: 'Ada', role: 'admin' }, policyEligible: true }] });
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.phases[1]!.approvals.map((a) => a.counts)).toEqual([['policy'], ['role', 'policy']]);
    expect(await rolloutOf(key, 'production')).toMatchObject({ percentage: 100 });
  });
});
