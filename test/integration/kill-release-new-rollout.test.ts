/**
 * A kill's workflow reaches its "pause the running rollout" step only after confirming the kill on
 * every replica, which waits up to 5 s for a laggard. Within that window the kill can be released
 * and a new rollout started: that rollout is not the kill's to pause. Here a replica that never
 * acknowledges holds the kill's workflow in its confirmation while the test releases the kill and
 * starts a new rollout; when the kill's workflow finishes, the new rollout must still be running.
 * A rollout that was running when the kill was requested is still paused (last case).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replicaKey } from '../../src/serving/replica-heartbeat.js';
import { eventually, startedWorkflow, startStack, uniqueKey, type Stack } from './harness.js';

let stack: Stack;
let redis: Redis;
beforeAll(async () => {
  stack = await startStack();
  redis = new Redis(stack.config.REDIS_URL);
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.close();
});

const flagPath = (key: string) => `/api/v1/flags/${key}/environments/production`;
const rolloutsPath = (key: string) => `${flagPath(key)}/rollouts`;
const plan = { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] };

async function createLiveFlag(): Promise<string> {
  const key = uniqueKey('kill-window');
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  expect((await stack.request('PUT', flagPath(key), { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
  return key;
}

/** A replica heartbeat that says it serves an old production version and will never acknowledge a change. */
async function addLaggard(key: string): Promise<string> {
  const laggard = `never-acks-${key}`;
  await redis.set(replicaKey(laggard, stack.config.REDIS_PREFIX), JSON.stringify({
    replica: laggard, host: 'elsewhere', pid: 1, started_at: new Date().toISOString(), at: new Date().toISOString(),
    environments: { production: { version: 1 } },
  }), 'PX', 20_000);
  return laggard;
}

async function currentRollout(key: string) {
  return (await stack.request('GET', rolloutsPath(key))).body.current as { status: string; paused_reason?: string } | null;
}

describe('a kill pauses only the rollout that ran when it was requested', () => {
  it('leaves alone a rollout started after the kill was released, while the kill still confirmed', async () => {
    const key = await createLiveFlag();
    const laggard = await addLaggard(key);
    try {
      const kill = await stack.request('POST', `${flagPath(key)}/kill-switch`, { body: { reason: 'errors spiking' } });
      expect(kill.status).toBe(201);
      const release = await stack.request('DELETE', `${flagPath(key)}/kill-switch`);
      expect(release.status).toBe(200);
      const started = await stack.request('POST', rolloutsPath(key), { body: { plan } });
      expect(started.status).toBe(201);
      await eventually(async () => (await currentRollout(key))?.status === 'running', 'the new rollout to run');

      // The kill's workflow confirmed (and gave up on the laggard) after the new rollout had started.
      const outcome = await (await startedWorkflow(stack.temporal, kill.body.workflow.id)).result();
      expect(outcome.convergence).toMatchObject({ converged: false, laggards: [laggard] });
      const killStarted = (await stack.temporal.workflow.getHandle(kill.body.workflow.id).describe()).startTime.getTime();
      const rolloutStarted = (await stack.temporal.workflow.getHandle(started.body.workflow_id).describe()).startTime.getTime();
      expect(rolloutStarted).toBeGreaterThan(killStarted);

      // Give a pause signal every chance to land: the rollout's query answers only after it processed it.
      expect(await currentRollout(key)).toMatchObject({ status: 'running' });
      await stack.temporal.workflow.getHandle(release.body.workflow.id).result();
      expect(await currentRollout(key)).toMatchObject({ status: 'running' });
      const signals = (await stack.temporal.workflow.getHandle(started.body.workflow_id).fetchHistory()).events
        ?.filter((event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'killSwitchActivated') ?? [];
      expect(signals).toHaveLength(1); // it was told, and chose to ignore a kill older than itself
      expect((await stack.request('POST', `${rolloutsPath(key)}/current/abort`, { body: { rollback: false } })).status).toBe(200);
    } finally {
      await redis.del(replicaKey(laggard, stack.config.REDIS_PREFIX));
    }
  });

  it('still pauses the rollout that was running when the kill was requested', async () => {
    const key = await createLiveFlag();
    const started = await stack.request('POST', rolloutsPath(key), { body: { plan } });
    expect(started.status).toBe(201);
    await eventually(async () => (await currentRollout(key))?.status === 'running', 'the rollout to run');
    const kill = await stack.request('POST', `${flagPath(key)}/kill-switch`, { body: { reason: 'errors' } });
    expect(kill.status).toBe(201);
    await (await startedWorkflow(stack.temporal, kill.body.workflow.id)).result();
    expect(await currentRollout(key)).toMatchObject({ status: 'paused', paused_reason: 'kill switch activated: errors' });
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/abort`, { body: { rollback: false } })).status).toBe(200);
  });
});
