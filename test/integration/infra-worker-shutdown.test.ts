import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startWorkerProcess, type WorkerProcess } from '../../src/main/worker-process.js';
import { eventually, startedWorkflow, sharedBundle, startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, onForEveryone } from './serving-helpers.js';

/**
 * A stopping worker stops polling and lets the activity it is running finish
 * (WORKER_SHUTDOWN_GRACE_SECONDS) instead of abandoning it; the workflow goes on on another worker.
 */
let stack: Stack;
const workers: WorkerProcess[] = [];
let redis: Redis;

beforeAll(async () => {
  stack = await startStack({}, { worker: false });
  redis = new Redis(stack.config.REDIS_URL);
});
afterAll(async () => {
  for (const worker of workers) await worker.close().catch(() => undefined);
  redis?.disconnect();
  await stack?.close();
});

async function startWorker(): Promise<WorkerProcess> {
  const config = loadConfig({ ...process.env, TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE, WORKER_SHUTDOWN_GRACE_SECONDS: '20', LOG_LEVEL: 'silent' });
  const worker = await startWorkerProcess(config, createLogger('silent', 'test'), await sharedBundle());
  workers.push(worker);
  return worker;
}

describe('worker shutdown', () => {
  it('finishes the running activity before it stops, and the workflow completes on another worker', async () => {
    const first = await startWorker();
    const key = uniqueKey('worker-stop');
    await createFlag(stack, key, onForEveryone);
    // A replica that never acknowledges keeps confirmAcks running for its full 5 s wait.
    const laggard = `stale-replica-${key}`;
    await redis.set(`${stack.config.REDIS_PREFIX}:replicas:${laggard}`, JSON.stringify({
      replica: laggard, host: 'elsewhere', pid: 1, started_at: new Date().toISOString(), at: new Date().toISOString(),
      environments: { production: { version: 1 } },
    }), 'PX', 30_000);
    try {
      const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'worker stop' } });
      expect(kill.status).toBe(201);
      const handle = await startedWorkflow(stack.temporal, kill.body.workflow.id);
      const events = async () => (await handle.fetchHistory()).events ?? [];
      const confirmScheduled = await eventually(async () => {
        const all = await events();
        const scheduled = all.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'confirmAcks');
        const started = scheduled && all.some((event) => Number(event.activityTaskStartedEventAttributes?.scheduledEventId) === Number(scheduled.eventId));
        return started ? Number(scheduled.eventId) : undefined;
      }, 'confirmAcks to be running on the first worker', 20_000);

      await first.close();
      workers.splice(workers.indexOf(first), 1);
      // By the time the stopping worker is gone, the activity it was running has completed.
      const outcome = (await events()).find((event) =>
        [event.activityTaskCompletedEventAttributes, event.activityTaskFailedEventAttributes, event.activityTaskTimedOutEventAttributes, event.activityTaskCanceledEventAttributes]
          .some((attributes) => Number(attributes?.scheduledEventId) === confirmScheduled));
      expect(outcome?.activityTaskCompletedEventAttributes).toBeTruthy();

      await startWorker();
      const result = await handle.result();
      expect(result.convergence).toMatchObject({ converged: false, laggards: [laggard] });
    } finally {
      await redis.del(`${stack.config.REDIS_PREFIX}:replicas:${laggard}`);
    }
  }, 90_000);
});
