import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startWorkerProcess, type WorkerProcess } from '../../src/main/worker-process.js';
import { eventually, sharedBundle, startStack, type Stack } from './harness.js';
import { createFlag } from './governance-helpers.js';

// A steering update is audited by the workflow when it applies it, once, whether or not the client
// that sent it was still waiting: here the only worker is gone when an operator pauses the rollout,
// the API gives up after its 5 s deadline (503), and the update applies when a worker comes back —
// with its one audit event naming the operator. Before, the API audited after the answer only, so
// such an update applied without any audit event.

let stack: Stack;
let worker: WorkerProcess | null = null;
const ENV = 'staging';
const rolloutsPath = (key: string) => `/api/v1/flags/${key}/environments/${ENV}/rollouts`;
const startWorker = async () => (worker = await startWorkerProcess(stack.config, createLogger('silent'), await sharedBundle()));

beforeAll(async () => {
  // A short sticky timeout: the workflow's next task goes to the new worker soon after the old one left.
  stack = await startStack({ WORKER_STICKY_QUEUE_TIMEOUT_SECONDS: '1' }, { worker: false });
  await startWorker();
}, 120_000);

afterAll(async () => {
  await worker?.close();
  await stack?.close();
});

async function steeringAudits(key: string, action: string) {
  const result = await stack.db.query(
    `SELECT user_id, reason, user_agent, metadata FROM audit_events WHERE resource_type = 'rollout' AND resource_id = $1 AND action = $2 ORDER BY seq`, [key, action]);
  return result.rows as Array<{ user_id: string; reason: string | null; user_agent: string | null; metadata: Record<string, unknown> }>;
}

const current = async (key: string) => (await stack.request('GET', rolloutsPath(key))).body.current;

describe('rollout steering is audited by the workflow that applies it', () => {
  it('audits an answered update once, and an update applied after its client gave up once too', async () => {
    const key = await createFlag(stack, 'update-audit');
    const started = await stack.request('POST', rolloutsPath(key), { body: { plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] } } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    await eventually(async () => (await current(key))?.percentage === 10, 'the first step');

    // Answered: one event, written by the workflow's activity before the answer, naming the caller and the update.
    const paused = await stack.request('POST', `${rolloutsPath(key)}/current/pause`, { body: { reason: 'looking at graphs' }, headers: { 'user-agent': 'ops-console' } });
    expect(paused.status).toBe(200);
    const [pauseEvent, ...morePauses] = await steeringAudits(key, 'rollout.paused');
    expect(morePauses).toEqual([]);
    expect(pauseEvent).toMatchObject({ user_id: 'bootstrap-admin', reason: 'looking at graphs', user_agent: 'ops-console', metadata: { workflowId: started.body.workflow_id, step: 1, totalSteps: 2, percentage: 10 } });
    expect(pauseEvent!.metadata.updateId).toEqual(expect.any(String));
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/resume`)).status).toBe(200);
    expect(await steeringAudits(key, 'rollout.resumed')).toHaveLength(1);

    // The worker goes away; the client gives up waiting on the update (503) before anything applies it.
    await worker!.close();
    worker = null;
    const unanswered = await stack.request('POST', `${rolloutsPath(key)}/current/pause`, { body: { reason: 'paused while the worker was away' } });
    expect(unanswered.status).toBe(503);
    expect(await steeringAudits(key, 'rollout.paused')).toHaveLength(1);

    // A worker comes back and applies the update that was sent: it is audited, exactly once.
    await startWorker();
    const applied = await eventually(async () => {
      const progress = await stack.temporal.workflow.getHandle(started.body.workflow_id).query('progress') as { status: string; pausedReason: string | null };
      return progress.status === 'paused' ? progress : undefined;
    }, 'the update to apply', 30_000);
    expect(applied.pausedReason).toBe('paused while the worker was away');
    const audits = await eventually(async () => {
      const rows = await steeringAudits(key, 'rollout.paused');
      return rows.length >= 2 ? rows : undefined;
    }, 'the late update’s audit event');
    expect(audits.map((row) => row.reason)).toEqual(['looking at graphs', 'paused while the worker was away']);
    expect(audits[1]).toMatchObject({ user_id: 'bootstrap-admin', metadata: { workflowId: started.body.workflow_id } });
    expect(audits[1]!.metadata.updateId).not.toBe(audits[0]!.metadata.updateId);

    // Ending the rollout takes every handler to its end: still one event per applied update.
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/abort`, { body: { rollback: false } })).status).toBe(200);
    await stack.temporal.workflow.getHandle(started.body.workflow_id).result();
    expect(await steeringAudits(key, 'rollout.paused')).toHaveLength(2);
    expect(await steeringAudits(key, 'rollout.aborted')).toHaveLength(1);
  });
});
