import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { createSecretBox } from '../../src/auth/secret-box.js';
import { parseAllowedHosts } from '../../src/config-parsers.js';
import { createActivities } from '../../activities/create-activities.js';
import type { Alert, Alerter } from '../../activities/alerts.js';
import type { LifecycleDigestDeps } from '../../activities/lifecycle-activities.js';
import { createLogger } from '../../src/logger.js';
import { createFlagPublisher } from '../../src/cache/flag-publisher.js';
import { createFlagService, type FlagService } from '../../src/flags/flag-service.js';
import { createDatabase, type Database } from '../../src/connections/database.js';
import { RedisProjection } from '../../src/cache/projection.js';
import { AckWatcher } from '../../src/serving/change-confirmation.js';
import { InstanceWatcher } from '../../src/serving/instance-confirmation.js';
import { sharedBundle } from './harness.js';

/** The Temporal test server (timers skip) with a worker running the real activities on the real Postgres and Redis. */
export interface TimeSkippingWorker {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  db: Database;
  projection: RedisProjection;
  flags: FlagService;
  /** The alerts sent, when no alerter of the test's own was given. */
  alerts: Alert[];
  close(): Promise<void>;
}

export async function startTimeSkippingWorker(options: {
  name: string;
  /** Where alerts go; by default they are recorded in `alerts`. */
  alerter?: Alerter;
  prometheusUrl?: string;
  /** A Redis prefix for replica acknowledgements; one of its own finds no replica to wait for. */
  ackPrefix?: string;
  /** The lifecycle digest's thresholds, fallback channel and Slack (lifecycle-digest-workflow.test.ts). */
  lifecycle?: LifecycleDigestDeps;
}): Promise<TimeSkippingWorker> {
  const testServer = process.env.TEMPORAL_TEST_SERVER;
  if (!testServer) throw new Error('TEMPORAL_TEST_SERVER is not set: run the tests with `npm test`');
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testServer } } });
  const taskQueue = `${options.name}-${randomUUID()}`;
  const db = createDatabase(process.env.DATABASE_URL!, 4);
  const redis = new Redis(process.env.REDIS_URL!);
  const subscriber = new Redis(process.env.REDIS_URL!);
  // The worker's own key and channel prefix (test/integration/worker-setup.ts), as the stacks in the same file use.
  const prefix = process.env.REDIS_PREFIX;
  const projection = new RedisProjection(redis, prefix);
  const alerts: Alert[] = [];
  const alerter = options.alerter ?? { send: async (alert: Alert) => void alerts.push(alert) };
  const publisher = createFlagPublisher({ projection, logger: createLogger('silent') });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await sharedBundle(),
    activities: createActivities({
      db, redis, redisPrefix: prefix, acks: new AckWatcher({ redis, subscriber, prefix: options.ackPrefix ?? prefix }),
      instances: new InstanceWatcher({ redis, subscriber, prefix: options.ackPrefix ?? prefix }), publisher, alerter,
      temporalUiUrl: 'http://ui', namespace: 'default', prometheusUrl: options.prometheusUrl, guardReporterCap: 0,
      webhookDestinations: parseAllowedHosts(''), webhookSecrets: createSecretBox(undefined), lifecycle: options.lifecycle,
    }),
  });
  const running = worker.run();
  return {
    env, taskQueue, db, projection, flags: createFlagService({ db, publisher }), alerts,
    async close() {
      worker.shutdown();
      await running;
      await env.teardown();
      redis.disconnect();
      subscriber.disconnect();
      await db.end();
    },
  };
}
