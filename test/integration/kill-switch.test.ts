import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOTSTRAP_ACTOR } from '../../src/auth/principal.js';
import { createFlagPublisher } from '../../src/cache/flag-publisher.js';
import { RedisProjection } from '../../src/cache/projection.js';
import { createKillSwitchService } from '../../src/kill-switch/kill-switch-service.js';
import { createLogger } from '../../src/logger.js';
import { replicaKey } from '../../src/serving/replica-heartbeat.js';
import { eventually, startedWorkflow, startStack, uniqueKey, type Stack } from './harness.js';

let stack: Stack;
const silent = createLogger('silent', 'test');
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

async function createLiveFlag(): Promise<string> {
  const key = uniqueKey('checkout');
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: 'Checkout', type: 'boolean' } })).status).toBe(201);
  const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, {
    body: { enabled: true, value: true, off_value: false, rollout: { percentage: 100, strategy: 'immediate' } },
  });
  expect(put.status).toBe(200);
  return key;
}

const evaluate = (key: string, targetingKey = 'user-1') =>
  stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey } }, headers: { 'x-environment': 'production' } });

async function activityNames(workflowId: string): Promise<string[]> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((name): name is string => Boolean(name));
}

describe('kill switch, end to end', () => {
  it('turns a flag off at OFREP, runs disable, invalidate, broadcast, confirm, audit, count SDK instances and alert in order, and restores', async () => {
    const key = await createLiveFlag();
    await eventually(async () => (await evaluate(key)).body?.value === true, 'the flag to serve true');
    const before = await evaluate(key);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ key, value: true, variant: 'on', reason: 'SPLIT' });

    const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, {
      body: { reason: 'payment errors spiking' },
    });
    expect(kill.status).toBe(201);
    expect(kill.body).toMatchObject({ flag: key, environment: 'production', changed: true, kill_switch: { enabled: true } });
    // The answer comes once the kill is live, before Temporal has the workflow: its start was
    // recorded with the kill (the outbox) and follows.
    expect(kill.body.workflow.status).toBe('starting');
    expect(kill.body.workflow.id).toMatch(new RegExp(`^killswitch:production:${key}:`));
    expect(kill.body.workflow.url).toContain(encodeURIComponent(kill.body.workflow.id));
    // Already served off by the replica that answered: no waiting.
    const off = await evaluate(key);
    expect(off.body).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED', metadata: { killSwitch: true } });

    const handle = await startedWorkflow(stack.temporal, kill.body.workflow.id);
    const outcome = await handle.result();
    expect(await activityNames(kill.body.workflow.id)).toEqual(['disableFlag', 'invalidateCaches', 'broadcast', 'confirmAcks', 'audit', 'confirmInstances', 'alert']);
    // The API of this test is a live replica: the workflow confirms, from its acknowledgement, that it serves the kill.
    expect(outcome.convergence).toMatchObject({ converged: true, laggards: [] });
    expect(outcome.convergence.totalReplicas).toBeGreaterThanOrEqual(1);
    expect(outcome.convergence.confirmedReplicas).toBe(outcome.convergence.totalReplicas);
    expect(outcome.convergence.elapsedMs).toEqual(expect.any(Number));
    // The API answers the same confirmation for the latest kill.
    const state = await stack.request('GET', `/api/v1/flags/${key}/environments/production/kill-switch`);
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({
      flag: key, environment: 'production', version: kill.body.version, kill_switch: { enabled: true, reason: 'payment errors spiking' },
      latest: { action: 'activated', workflow_id: kill.body.workflow.id, reason: 'payment errors spiking' },
      confirmation: { status: 'confirmed', laggards: [] },
    });
    expect(state.body.confirmation.confirmed_replicas).toBe(state.body.confirmation.total_replicas);
    expect(state.body.confirmation.elapsed_ms).toEqual(expect.any(Number));
    const description = await handle.describe();
    expect(description.searchAttributes).toMatchObject({ FlagKey: [key], Environment: ['production'], Actor: ['bootstrap-admin'] });

    const audit = await stack.request('GET', `/api/v1/audit?flag=${key}&action=kill_switch.activated`);
    expect(audit.status).toBe(200);
    expect(audit.body.events).toHaveLength(1);
    expect(audit.body.events[0]).toMatchObject({
      action: 'kill_switch.activated', environment: 'production', reason: 'payment errors spiking', user_id: 'bootstrap-admin',
      metadata: { workflowId: kill.body.workflow.id },
    });

    const restore = await stack.request('DELETE', `/api/v1/flags/${key}/environments/production/kill-switch`);
    expect(restore.status).toBe(200);
    expect(restore.body.kill_switch).toEqual({ enabled: false });
    await eventually(async () => (await evaluate(key)).body?.value === true, 'the flag to serve true again');
    await stack.temporal.workflow.getHandle(restore.body.workflow.id).result();
    expect(await activityNames(restore.body.workflow.id)).toEqual(['removeKillSwitch', 'invalidateCaches', 'broadcast', 'confirmAcks', 'auditRecovery', 'confirmInstances', 'alert']);
    const recovery = await stack.request('GET', `/api/v1/audit?flag=${key}&action=kill_switch.deactivated`);
    expect(recovery.body.events).toHaveLength(1);
  });

  it('treats a redelivered request (same Idempotency-Key) as one kill', async () => {
    const key = await createLiveFlag();
    const path = `/api/v1/flags/${key}/environments/production/kill-switch`;
    const headers = { 'idempotency-key': 'incident-42' };
    const first = await stack.request('POST', path, { body: { reason: 'retry me' }, headers });
    const second = await stack.request('POST', path, { body: { reason: 'retry me' }, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ changed: false, version: first.body.version });
    expect(second.body.workflow.id).toBe(first.body.workflow.id);
    await (await startedWorkflow(stack.temporal, first.body.workflow.id)).result();
    const audit = await stack.request('GET', `/api/v1/audit?flag=${key}&action=kill_switch.activated`);
    expect(audit.body.events).toHaveLength(1);
  });

  it('alerts, naming the laggard, when a live replica has not served the kill within 5 s', async () => {
    const key = await createLiveFlag();
    // A replica whose heartbeat says it still serves an old version of production (it never will catch up).
    const laggard = `stale-replica-${key}`;
    const redis = new Redis(stack.config.REDIS_URL);
    await redis.set(replicaKey(laggard, stack.config.REDIS_PREFIX), JSON.stringify({
      replica: laggard, host: 'elsewhere', pid: 1, started_at: new Date().toISOString(), at: new Date().toISOString(),
      environments: { production: { version: 1 } },
    }), 'PX', 20_000);
    try {
      const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'laggard check' } });
      const outcome = await (await startedWorkflow(stack.temporal, kill.body.workflow.id)).result();
      expect(outcome.convergence).toMatchObject({ converged: false, laggards: [laggard] });
      expect(outcome.convergence.confirmedReplicas).toBe(outcome.convergence.totalReplicas - 1);
      expect(await activityNames(kill.body.workflow.id)).toEqual([
        'disableFlag', 'invalidateCaches', 'broadcast', 'confirmAcks', 'alert', 'audit', 'confirmInstances', 'alert',
      ]);
      // Past 5 s the API names the laggard too.
      const state = await stack.request('GET', `/api/v1/flags/${key}/environments/production/kill-switch`);
      expect(state.body.confirmation).toMatchObject({ status: 'unconfirmed', laggards: [laggard] });
    } finally {
      await redis.del(replicaKey(laggard, stack.config.REDIS_PREFIX));
      redis.disconnect();
    }
  });

  it('answers an already killed flag without a second workflow', async () => {
    const key = await createLiveFlag();
    const path = `/api/v1/flags/${key}/environments/production/kill-switch`;
    await stack.request('POST', path, { body: { reason: 'first' } });
    const again = await stack.request('POST', path, { body: { reason: 'second' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ changed: false, already_active: true, kill_switch: { enabled: true, reason: 'first' } });
    expect(again.body.workflow.status).toBe('none');
  });

  it('still runs the workflow when the process that answered dies between the commit and the start (the outbox)', async () => {
    const key = await createLiveFlag();
    await eventually(async () => (await evaluate(key)).body?.value === true, 'the flag to serve true');
    // A second API process's kill path on the same Postgres, Redis and Temporal UI, whose workflow start
    // never leaves it: the process died right after answering (the start is never sent, nothing marks
    // the outbox row). The stack's worker runs the outbox relay, as a worker does in production.
    const redis = new Redis(stack.config.REDIS_URL);
    try {
      const dying = createKillSwitchService({
        db: stack.db,
        publisher: createFlagPublisher({ projection: new RedisProjection(redis, stack.config.REDIS_PREFIX), logger: silent }),
        starter: { start: () => new Promise(() => undefined), client: stack.temporal, close: async () => undefined },
        logger: silent, temporalUiUrl: stack.config.TEMPORAL_UI_URL, namespace: stack.config.TEMPORAL_NAMESPACE,
      });
      const answered = await dying.activate({ flagKey: key, environment: 'production', reason: 'crash drill', actor: BOOTSTRAP_ACTOR }, { awaitWorkflow: false });
      expect(answered).toMatchObject({ changed: true, projected: true, workflow: { status: 'starting' } });
      // The kill is live everywhere before any workflow exists: the stack's API got the broadcast.
      await eventually(async () => (await evaluate(key)).body?.value === false, 'the stack API to serve the kill');

      const handle = await startedWorkflow(stack.temporal, answered.workflow.id, 30_000);
      const outcome = await handle.result();
      expect(outcome.convergence).toMatchObject({ converged: true, laggards: [] });
      // The workflow's disable found the kill done: one change, one audit event, the outbox row cleared.
      const audit = await stack.db.query('SELECT count(*)::int AS n FROM audit_events WHERE action = $1 AND metadata->>$2 = $3', [
        'kill_switch.activated', 'workflowId', answered.workflow.id,
      ]);
      expect(audit.rows[0].n).toBe(1);
      const version = await stack.request('GET', `/api/v1/flags/${key}/environments/production/kill-switch`);
      expect(version.body.version).toBe(answered.definition.version);
      // The relay marks the row after Temporal accepted the start, so a quick workflow can complete first.
      await eventually(async () => {
        const outbox = await stack.db.query('SELECT processed_at FROM outbox WHERE dedupe_key = $1', [answered.workflow.id]);
        return outbox.rows[0].processed_at instanceof Date;
      }, 'the outbox row to be marked processed');
    } finally {
      redis.disconnect();
    }
  });
});
