import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutProgress } from '../../../workflows/rollout-messages.js';
import { createEnvironmentToken, createFlag } from '../governance-helpers.js';
import { eventually, startStack, type Stack } from '../harness.js';

// Each outcome batch records its reporter; a rollout guard weighs no reporter
// beyond GUARD_MAX_EVENTS_PER_REPORTER events, so one server token flooding errors cannot trip a guard that
// the other reporters' traffic keeps healthy; a breach names the reporters whose errors drove it.

const CAP = 100;
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ GUARD_MAX_EVENTS_PER_REPORTER: String(CAP) });
});
afterAll(async () => {
  await stack?.close();
});

const rolloutsPath = (key: string) => `/api/v1/flags/${key}/environments/production/rollouts`;
const guard = { source: 'events', max_error_rate: 0.2, min_samples: 10, interval: '1 second' };

async function startGuardedRollout(key: string): Promise<string> {
  const plan = { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }], guard };
  const started = await stack.request('POST', rolloutsPath(key), { body: { plan } });
  expect(started.status).toBe(201);
  await eventually(async () => (await stack.request('GET', rolloutsPath(key))).body.current?.percentage === 10, 'the first step');
  return started.body.workflow_id;
}

async function report(token: string, key: string, outcome: 'success' | 'error', count: number): Promise<void> {
  const sent = await stack.request('POST', '/api/v1/events', { token, body: { events: [{ flag: key, variant: 'on', outcome, count }] } });
  expect(sent.status).toBe(202);
}

describe('outcome reporters and the per-reporter cap', () => {
  it('records the reporter of each batch: the token id, or the user id', async () => {
    const key = await createFlag(stack, 'reporter');
    const server = await createEnvironmentToken(stack, 'server', 'production');
    await report(server.token, key, 'error', 3);
    const byUser = await stack.request('POST', '/api/v1/events', {
      body: { environment: 'production', events: [{ flag: key, variant: 'on', outcome: 'success', count: 2 }] },
    });
    expect(byUser.status).toBe(202);
    const rows = await stack.db.query(
      'SELECT reporter, sum(successes)::int AS successes, sum(errors)::int AS errors FROM flag_events WHERE flag_key = $1 GROUP BY reporter ORDER BY reporter',
      [key],
    );
    expect(rows.rows).toEqual([
      { reporter: `token:${server.id}`, successes: 0, errors: 3 },
      // The harness's admin token is the bootstrap admin.
      { reporter: 'user:bootstrap-admin', successes: 2, errors: 0 },
    ]);
  });

  it('does not breach when one server token floods errors that healthy traffic from others outweighs', async () => {
    const key = await createFlag(stack, 'reporter');
    const workflowId = await startGuardedRollout(key);
    const flooder = await createEnvironmentToken(stack, 'server', 'production');
    const genuine = await Promise.all([1, 2, 3, 4, 5].map(() => createEnvironmentToken(stack, 'server', 'production')));
    for (const g of genuine) await report(g.token, key, 'success', CAP);
    // Uncapped this is 1,000 errors in 1,500 samples (67%); capped it counts as 100 in 600 (16.7%).
    await report(flooder.token, key, 'error', 1000);

    const handle = stack.temporal.workflow.getHandle(workflowId);
    const judged = await eventually(async () => {
      const progress = await handle.query<RolloutProgress>('progress');
      return progress.guard?.readings.find((r) => r.samples?.treated === 1500);
    }, 'a guard reading of every report');
    expect(judged.breached).toBe(false);
    expect(judged.treatedErrorRate).toBeCloseTo(100 / 600, 5);
    expect(judged.reporters).toEqual([{ reporter: `token:${flooder.id}`, samples: 1000, errors: 1000, countedSamples: CAP, countedErrors: CAP }]);
    expect((await handle.query<RolloutProgress>('progress')).guard?.breach).toBeNull();
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/abort`, { body: { rollback: false } })).status).toBe(200);
    expect(await handle.result()).toMatchObject({ status: 'aborted' });
  });

  it('names the reporters whose errors drove a breach in the workflow result and the rollback audit event', async () => {
    const key = await createFlag(stack, 'reporter');
    const workflowId = await startGuardedRollout(key);
    const failing = await createEnvironmentToken(stack, 'server', 'production');
    const healthy = await createEnvironmentToken(stack, 'server', 'production');
    await report(healthy.token, key, 'success', 50);
    await report(failing.token, key, 'error', 40);

    const result = await stack.temporal.workflow.getHandle(workflowId).result();
    expect(result).toMatchObject({ status: 'rolled_back', percentage: 0 });
    const named = [{ reporter: `token:${failing.id}`, samples: 40, errors: 40, countedSamples: 40, countedErrors: 40 }];
    expect(result.guard.breach.reporters).toEqual(named);
    expect(result.guard.breach.detail).toContain(`errors from token:${failing.id} (40 errors)`);
    expect(result.guard.breach.detail).not.toContain(healthy.id);

    const audit = await eventually(async () => {
      const events = (await stack.request('GET', `/api/v1/audit?flag=${key}&action=rollout.rolled_back`)).body.events;
      return events?.length === 1 ? events[0] : undefined;
    }, 'the rollback audit event');
    expect(audit.new_value.reading.reporters).toEqual(named);
    expect(audit.reason).toContain(`token:${failing.id}`);
  });
});
