import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type LogLevel, type WorkflowBundleOption, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../../activities/create-activities.js';
import { startTelemetry } from '../telemetry/index.js';
import { activityTelemetry } from '../telemetry/activity-telemetry.js';
import { createAlerter } from '../../activities/alerts.js';
import { lifecycleThresholds, type Config } from '../config.js';
import { postgresPoolConfig } from '../connections/postgres.js';
import { createRedis } from '../connections/redis.js';
import { describeTemporal, temporalConnectionOptions } from '../connections/temporal.js';
import type { Logger } from '../logger.js';
import { createFlagPublisher } from '../cache/flag-publisher.js';
import { createAuditCheckpointer } from '../audit/audit-checkpoint.js';
import { AckWatcher } from '../serving/change-confirmation.js';
import { InstanceWatcher } from '../serving/instance-confirmation.js';
import { createOutboxRelay } from '../outbox/outbox-relay.js';
import type { PeriodicPass } from '../periodic-pass.js';
import { createWebhookDispatcher } from '../webhooks/webhook-dispatcher.js';
import { refuseWebhooksWithoutKey, WebhookKeyMissing, webhookDestinations, webhookSecretBox } from '../webhooks/webhook-secrets.js';
import { createDatabase } from '../connections/database.js';
import { CheckpointAnchor } from '../audit/checkpoint-anchor.js';
import { RedisProjection } from '../cache/projection.js';
import { ensureLifecycleDigestSchedule } from '../temporal/lifecycle-schedule.js';
import { createWorkflowStarter } from '../temporal/workflow-starter.js';

export const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
/** `npm run build` writes the workflow bundle here, at the top of dist/. */
export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';
// Only a build has it (dist/src/main -> dist/): from the sources this names a file that never exists.
const prebuiltBundlePath = fileURLToPath(new URL(`../../${WORKFLOW_BUNDLE_FILE}`, import.meta.url));

/**
 * What the worker runs: the given bundle (tests share one), else WORKFLOW_BUNDLE, else the build's
 * prebuilt bundle file (no webpack or swc at start-up), else the sources, bundled at start-up (development).
 */
function workflowCode(bundle: WorkflowBundleWithSourceMap | undefined, bundleFile: string | undefined): { workflowBundle: WorkflowBundleOption } | { workflowsPath: string } {
  if (bundle) return { workflowBundle: bundle };
  if (bundleFile) return { workflowBundle: { codePath: bundleFile } };
  if (existsSync(prebuiltBundlePath)) return { workflowBundle: { codePath: prebuiltBundlePath } };
  return { workflowsPath };
}

/** Bundles the workflow code once (tests share the bundle across workers). */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } });
}

let runtimeInstalled = false;
/** Routes the SDK's own logs (worker state, workflow `log`) into pino; the runtime is installed once per process. */
function installRuntime(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (logger.level === 'silent' ? 'ERROR' : logger.level === 'debug' || logger.level === 'trace' ? 'DEBUG' : 'WARN') as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const method = entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : 'debug';
      logger[method](entry.meta ?? {}, entry.message);
    }),
  });
}

export interface WorkerProcess {
  worker: Worker;
  /** Resolves when the worker has shut down. */
  done: Promise<void>;
  relay: ReturnType<typeof createOutboxRelay>;
  /** Turns audit events into webhook deliveries every 500 ms. */
  webhooks: PeriodicPass;
  /** Signs the audit chain's head every AUDIT_CHECKPOINT_SECONDS; null without AUDIT_CHECKPOINT_KEY. */
  checkpoints: PeriodicPass | null;
  close(): Promise<void>;
}

/** Builds the activities' real dependencies, starts the worker and the outbox relay. */
export async function startWorkerProcess(config: Config, logger: Logger, bundle?: WorkflowBundleWithSourceMap): Promise<WorkerProcess> {
  installRuntime(logger);
  const db = createDatabase(postgresPoolConfig(config));
  // Deliveries are signed with secrets stored encrypted: without the key every one would fail.
  await refuseWebhooksWithoutKey(db, config).catch(async (error: unknown) => {
    if (!(error instanceof WebhookKeyMissing)) return logger.warn({ err: error }, 'could not check for webhooks at start-up (is Postgres down?)');
    await db.end();
    throw error;
  });
  const redis = createRedis(config, { maxRetriesPerRequest: 3 });
  redis.on('error', () => undefined);
  // A subscribed connection can run nothing else: acknowledgements are heard on their own.
  const subscriber = createRedis(config, { maxRetriesPerRequest: 3 });
  subscriber.on('error', () => undefined);
  const temporal = temporalConnectionOptions(config);
  // Lazily connected: the outbox relay and the apply of an approved rollout request start workflows with it.
  const starter = createWorkflowStarter({
    ...temporal, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE,
  });
  const activities = createActivities({
    db,
    starter,
    redis,
    redisPrefix: config.REDIS_PREFIX,
    acks: new AckWatcher({ redis, subscriber, prefix: config.REDIS_PREFIX }),
    instances: new InstanceWatcher({ redis, subscriber, prefix: config.REDIS_PREFIX }),
    publisher: createFlagPublisher({ projection: new RedisProjection(redis, config.REDIS_PREFIX), logger }),
    prometheusUrl: config.PROMETHEUS_URL,
    webhookDestinations: webhookDestinations(config),
    webhookSecrets: webhookSecretBox(config),
    guardReporterCap: config.GUARD_MAX_EVENTS_PER_REPORTER,
    alerter: createAlerter({
      botToken: config.SLACK_BOT_TOKEN, channel: config.SLACK_ALERT_CHANNEL, apiUrl: config.SLACK_API_URL, logger,
    }),
    temporalUiUrl: config.TEMPORAL_UI_URL,
    namespace: config.TEMPORAL_NAMESPACE,
    lifecycle: {
      thresholds: lifecycleThresholds(config),
      channel: config.LIFECYCLE_DIGEST_CHANNEL ?? config.SLACK_ALERT_CHANNEL,
      slack: config.SLACK_BOT_TOKEN ? { botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL } : undefined,
    },
  });
  const connection = await NativeConnection.connect(temporal).catch((error: unknown) => {
    throw new Error(`cannot connect to Temporal at ${describeTemporal(temporal)}: ${(error as Error).message}`, { cause: error });
  });
  const code = workflowCode(bundle, config.WORKFLOW_BUNDLE);
  const telemetry = await startTelemetry(config, 'worker', logger);
  const worker = await Worker.create({
    ...(telemetry ? { interceptors: { activity: [activityTelemetry(telemetry)] } } : {}),
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities,
    // On shutdown the worker stops polling at once and lets running activities finish for this long.
    shutdownGraceTime: config.WORKER_SHUTDOWN_GRACE_SECONDS * 1000,
    // A crashed worker's workflows move to the other workers after this long.
    stickyQueueScheduleToStartTimeout: config.WORKER_STICKY_QUEUE_TIMEOUT_SECONDS * 1000,
    ...code,
  });
  // The weekly digest's schedule follows LIFECYCLE_DIGEST_SCHEDULE; a failure (Temporal briefly away)
  // leaves the previous schedule in place and is retried at the next start.
  // Not awaited (a slow Temporal must not hold up the worker), bounded, and awaited by close().
  const digestSchedule = starter.client.connection.withDeadline(Date.now() + 10_000, () =>
    ensureLifecycleDigestSchedule(starter.client, { taskQueue: config.TEMPORAL_TASK_QUEUE, cron: config.LIFECYCLE_DIGEST_SCHEDULE }))
    .then((outcome) => logger.info({ outcome, cron: config.LIFECYCLE_DIGEST_SCHEDULE }, 'lifecycle digest schedule'))
    .catch((err: unknown) => logger.warn({ err }, 'could not create or update the lifecycle digest schedule'));
  const relay = createOutboxRelay({ db, starter, logger });
  relay.start();
  const webhooks = createWebhookDispatcher({
    db, starter, logger, retry: { maxAttempts: config.WEBHOOK_MAX_ATTEMPTS, initialInterval: config.WEBHOOK_RETRY_INITIAL },
  });
  webhooks.start();
  const checkpoints = config.AUDIT_CHECKPOINT_KEY && config.AUDIT_CHECKPOINT_SECONDS > 0
    ? createAuditCheckpointer({ db, key: config.AUDIT_CHECKPOINT_KEY, logger, intervalMs: config.AUDIT_CHECKPOINT_SECONDS * 1000, anchor: new CheckpointAnchor(redis, config.REDIS_PREFIX) })
    : null;
  checkpoints?.start();
  if (!config.AUDIT_CHECKPOINT_KEY) logger.warn('AUDIT_CHECKPOINT_KEY is not set: the audit chain is not anchored outside the database');
  const done = worker.run();
  const workflows = 'workflowsPath' in code ? 'bundled at start-up' : 'codePath' in code.workflowBundle ? 'prebuilt bundle' : 'given bundle';
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, workflows }, 'worker running');

  return {
    worker,
    done,
    relay,
    webhooks,
    checkpoints,
    async close() {
      // Passes in flight use the starter, the database and Redis: let them end before closing those.
      await Promise.all([relay.stop(), checkpoints?.stop(), webhooks.stop()]);
      await digestSchedule;
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done.catch(() => undefined);
      await telemetry?.shutdown();
      await connection.close();
      await starter.close();
      redis.disconnect();
      subscriber.disconnect();
      await db.end();
    },
  };
}
