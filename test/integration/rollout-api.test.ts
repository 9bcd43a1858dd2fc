import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

async function newFlag(s: Stack): Promise<string> {
  const key = uniqueKey('rollout-api');
  expect((await s.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  return key;
}

const rolloutsPath = (key: string) => `/api/v1/flags/${key}/environments/production/rollouts`;

describe('rollouts through the API', () => {
  it('starts, refuses a second start, pauses, resumes, is paused by a kill, and aborts', async () => {
    const key = await newFlag(stack);
    const plan = { strategy: 'gradual', steps: [{ percentage: 1, hold: '1 hour' }, { percentage: 100 }] };
    const started = await stack.request('POST', rolloutsPath(key), { body: { plan } });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ workflow_id: `rollout:production:${key}`, summary: 'gradual: 1% → 100%' });

    const second = await stack.request('POST', rolloutsPath(key), { body: { plan } });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toContain(`rollout:production:${key}`);

    const running = await eventually(async () => {
      const list = await stack.request('GET', rolloutsPath(key));
      return list.body.current?.percentage === 1 ? list.body : undefined;
    }, 'the first step');
    expect(running.current).toMatchObject({ status: 'running', step: 0, total_steps: 2 });
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.rollout).toMatchObject({ percentage: 1 });

    const paused = await stack.request('POST', `${rolloutsPath(key)}/current/pause`, { body: { reason: 'looking at graphs' } });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ status: 'paused', paused_reason: 'looking at graphs' });
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/pause`, { body: {} })).status).toBe(409);
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/resume`)).body.status).toBe('running');

    const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'errors' } });
    expect(kill.status).toBe(201);
    const pausedByKill = await eventually(async () => {
      const list = await stack.request('GET', rolloutsPath(key));
      return list.body.current?.status === 'paused' ? list.body.current : undefined;
    }, 'the kill to pause the rollout');
    expect(pausedByKill.paused_reason).toBe('kill switch activated: errors');
    const restore = await stack.request('DELETE', `/api/v1/flags/${key}/environments/production/kill-switch`);
    await stack.temporal.workflow.getHandle(restore.body.workflow.id).result();
    expect((await stack.request('GET', rolloutsPath(key))).body.current.status).toBe('paused');

    const aborted = await stack.request('POST', `${rolloutsPath(key)}/current/abort`, { body: { rollback: false } });
    expect(aborted.status).toBe(200);
    await stack.temporal.workflow.getHandle(started.body.workflow_id).result();
    const list = await stack.request('GET', rolloutsPath(key));
    expect(list.body.rollouts[0]).toMatchObject({ status: 'aborted', workflow_id: started.body.workflow_id });
    expect(list.body.current).toBeNull();
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.rollout).toMatchObject({ percentage: 1 });
  });

  // rollout-workflow.test.ts covers the strategies on Temporal's time-skipping test server; these two
  // run a guard breach and an approval gate on the real dev server, with real timers.
  it('rolls back on a guard breach on the real Temporal server', async () => {
    const key = await newFlag(stack);
    const plan = {
      strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }],
      guard: { source: 'events', max_error_rate: 0.2, min_samples: 10, interval: '1 second' },
    };
    const started = await stack.request('POST', rolloutsPath(key), { body: { plan } });
    expect(started.status).toBe(201);
    await eventually(async () => (await stack.request('GET', rolloutsPath(key))).body.current?.percentage === 10, 'the first step');
    const reported = await stack.request('POST', '/api/v1/events', {
      body: { environment: 'production', events: [{ flag: key, variant: 'on', outcome: 'error', count: 8 }, { flag: key, variant: 'on', outcome: 'success', count: 12 }] },
    });
    expect(reported.status).toBe(202);
    const result = await stack.temporal.workflow.getHandle(started.body.workflow_id).result();
    expect(result).toMatchObject({ status: 'rolled_back', percentage: 0 });
    expect(result.guard.breach).toMatchObject({ breached: true });
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.rollout).toMatchObject({ percentage: 0 });
    const audit = await stack.request('GET', `/api/v1/audit?flag=${key}&action=rollout.rollback`);
    expect(audit.body.events).toHaveLength(1);
  });

  it('waits for approval on the real Temporal server and goes on once approved', async () => {
    const key = await newFlag(stack);
    const plan = { strategy: 'gradual', steps: [{ percentage: 10 }, { percentage: 50, approval: true }] };
    const started = await stack.request('POST', rolloutsPath(key), { body: { plan } });
    expect(started.status).toBe(201);
    const waiting = await eventually(async () => {
      const current = (await stack.request('GET', rolloutsPath(key))).body.current;
      return current?.status === 'waiting_approval' ? current : undefined;
    }, 'the approval gate');
    expect(waiting.percentage).toBe(10);
    const approved = await stack.request('POST', `${rolloutsPath(key)}/current/approve`, { body: {} });
    expect(approved.status).toBe(200);
    const result = await stack.temporal.workflow.getHandle(started.body.workflow_id).result();
    expect(result).toMatchObject({ status: 'completed', percentage: 50 });
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.rollout).toMatchObject({ percentage: 50 });
  });

  it('answers 4xx naming the field for bad plans, actions and events', async () => {
    const key = await newFlag(stack);
    const badPlan = await stack.request('POST', rolloutsPath(key), { body: { plan: { strategy: 'gradual', steps: [{ percentage: 150 }] } } });
    expect(badPlan.status).toBe(400);
    expect(badPlan.body.error.details.map((d: { path: string }) => d.path)).toContain('body.plan.steps.0.percentage');
    expect((await stack.request('POST', rolloutsPath('no-such-flag'), { body: { plan: { strategy: 'immediate', percentage: 5 } } })).status).toBe(404);
    // Each action is an operation of its own (so the document shows each body): an unknown one has no route.
    const unknownAction = await stack.request('POST', `${rolloutsPath(key)}/current/dance`);
    expect(unknownAction.status).toBe(404);
    expect(unknownAction.body.error.message).toContain('No route');
    const abortWithout = await stack.request('POST', `${rolloutsPath(key)}/current/abort`, { body: {} });
    expect(abortWithout.status).toBe(400);
    expect(abortWithout.body.error.details[0].path).toBe('body.rollback');
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/pause`, { body: {} })).status).toBe(404);

    const badEvents = await stack.request('POST', '/api/v1/events', { body: { events: [{ flag: key, variant: 'on', outcome: 'meh' }] } });
    expect(badEvents.status).toBe(400);
    expect(badEvents.body.error.details[0].path).toBe('body.events.0.outcome');
    const events = await stack.request('POST', '/api/v1/events', {
      body: { events: [{ flag: key, variant: 'on', outcome: 'error', count: 3 }, { flag: key, variant: 'off', outcome: 'success' }] },
    });
    expect(events.status).toBe(202);
    const stored = await stack.db.query('SELECT variant, successes, errors FROM flag_events WHERE flag_key = $1 ORDER BY variant', [key]);
    expect(stored.rows).toEqual([{ variant: 'off', successes: 1, errors: 0 }, { variant: 'on', successes: 0, errors: 3 }]);
  });
});

describe('a rollout survives its worker crashing', () => {
  let apiOnly: Stack;
  const workers: ChildProcess[] = [];
  const taskQueue = `rollout-crash-${randomUUID()}`;

  const startWorker = () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/worker.ts'], {
      cwd: root,
      env: { ...process.env, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    workers.push(child);
    return child;
  };

  beforeAll(async () => {
    apiOnly = await startStack({ TEMPORAL_TASK_QUEUE: taskQueue }, { worker: false });
  });
  afterAll(async () => {
    for (const child of workers) child.kill('SIGKILL');
    await apiOnly?.close();
  });

  it('continues after SIGKILL of the worker, each step audited exactly once', async () => {
    const key = await newFlag(apiOnly);
    const first = startWorker();
    const plan = { strategy: 'gradual', steps: [{ percentage: 10, hold: '4 seconds' }, { percentage: 50, hold: '2 seconds' }, { percentage: 100 }] };
    const started = await apiOnly.request('POST', rolloutsPath(key), { body: { plan } });
    expect(started.status).toBe(201);
    await eventually(async () => (await apiOnly.request('GET', rolloutsPath(key))).body.current?.percentage === 10, 'the first step', 60_000);

    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    startWorker();

    const done = await eventually(async () => {
      const list = await apiOnly.request('GET', rolloutsPath(key));
      return list.body.rollouts[0]?.status === 'completed' ? list.body.rollouts[0] : undefined;
    }, 'the rollout to complete on the new worker', 90_000);
    expect(done.progress.history.map((h: { percentage: number }) => h.percentage)).toEqual([10, 50, 100]);
    const audits = await apiOnly.db.query(
      `SELECT metadata->>'label' AS label, count(*)::int AS n FROM audit_events WHERE resource_id = $1 AND action = 'rollout.step'
        GROUP BY 1 ORDER BY 1`,
      [key],
    );
    expect(audits.rows).toEqual([{ label: 'step:0', n: 1 }, { label: 'step:1', n: 1 }, { label: 'step:2', n: 1 }]);
  }, 120_000);
});
