import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { createApp } from '../../api/create-app.js';
import { createFastPath } from '../../api/fast-path.js';
import { createAuthEvents } from '../auth/auth-events.js';
import { createAuthenticator } from '../auth/principal.js';
import { tokenLookup } from '../users/token-store.js';
import { evaluationRollupStore } from '../flag-metrics/evaluation-rollup-store.js';
import { createAuditService } from '../audit/audit-service.js';
import { createDashboardService } from '../dashboard/dashboard-service.js';
import { workflowUrl } from '../temporal/workflow-ids.js';
import { createSegmentService } from '../segments/segment-service.js';
import { SegmentSync } from '../cache/segment-sync.js';
import { createTokenService } from '../users/token-service.js';
import { createUserService, userMayRead } from '../users/user-service.js';
import { loadAllSegments, segmentRevision, toEngineSegment } from '../segments/segment-store.js';
import { SegmentProjection } from '../cache/segment-projection.js';
import { CacheStats } from '../cache/cache-stats.js';
import { FlagSnapshot } from '../cache/flag-snapshot.js';
import { SnapshotSync } from '../cache/snapshot-sync.js';
import { lifecycleThresholds, type Config } from '../config.js';
import { postgresPoolConfig } from '../connections/postgres.js';
import { createRedis } from '../connections/redis.js';
import { temporalConnectionOptions } from '../connections/temporal.js';
import type { Logger } from '../logger.js';
import { createMetrics, registerFreshnessMetrics, registerServingMetrics } from '../metrics.js';
import { createEvaluationEndpoints } from '../serving/evaluation-endpoints.js';
import { FlagMetrics } from '../serving/flag-metrics.js';
import { EvaluationRollups } from '../serving/evaluation-rollups.js';
import { StreamTickets } from '../serving/stream-tickets.js';
import { RateLimiter } from '../serving/rate-limiter.js';
import { ReplicaHeartbeat } from '../serving/replica-heartbeat.js';
import { ChangeAcker } from '../serving/change-acks.js';
import { AckWatcher } from '../serving/change-confirmation.js';
import { resilientAuthenticator } from '../serving/resilient-authenticator.js';
import { AuthFailureLimiter } from '../serving/auth-failure-limiter.js';
import { trustProxies } from '../config-parsers.js';
import { StreamRegistry } from '../serving/stream-registry.js';
import { snapshotReadiness } from '../serving/snapshot-readiness.js';
import { StreamHub } from '../serving/stream-hub.js';
import { createInstanceReportEndpoint } from '../serving/instance-reports.js';
import { InstanceRegistry } from '../serving/instance-registry.js';
import { InstanceDirectory } from '../serving/instance-directory.js';
import { InstanceWatcher } from '../serving/instance-confirmation.js';
import { OfrepStreamInstances } from '../serving/ofrep-stream-instances.js';
import { OfrepFreshness, OfrepStreamChannels } from '../serving/ofrep-event-streams.js';
import { startTelemetry } from '../telemetry/index.js';
import { createFlagPublisher } from '../cache/flag-publisher.js';
import { createFlagService } from '../flags/flag-service.js';
import { createOutcomeService } from '../flag-metrics/outcome-service.js';
import { createFlagMetricsHistoryService } from '../flag-metrics/flag-metrics-history.js';
import { createKillSwitchService } from '../kill-switch/kill-switch-service.js';
import { createKillSwitchCommands } from '../kill-switch/kill-switch-commands.js';
import { createConfigCommands } from '../flags/config-commands.js';
import { createFlagCommands } from '../flags/flag-commands.js';
import { createSegmentCommands } from '../segments/segment-commands.js';
import { createRolloutCommands } from '../rollouts/rollout-commands.js';
import { createScheduledChangeCommands } from '../scheduled-changes/scheduled-change-commands.js';
import { createReleasePipelineCommands } from '../release-pipelines/release-pipeline-commands.js';
import { createAlertTriggerCommands } from '../alert-triggers/alert-trigger-commands.js';
import { createUserCommands } from '../users/user-commands.js';
import { createTokenCommands } from '../users/token-commands.js';
import { createWebhookCommands } from '../webhooks/webhook-commands.js';
import { createChangePolicyCommands } from '../change-requests/change-policy-commands.js';
import { createReleaseTemplateCommands } from '../release-pipelines/release-template-commands.js';
import { createCodeReferenceCommands } from '../code-references/code-reference-commands.js';
import { createAlertTriggerService } from '../alert-triggers/alert-trigger-service.js';
import { createChangeRequestService } from '../change-requests/change-request-service.js';
import { createChangeRequestCommands } from '../change-requests/change-request-commands.js';
import { createLifecycleService } from '../lifecycle/lifecycle-service.js';
import { createCodeReferenceService } from '../code-references/code-reference-service.js';
import { createKillConfirmationService } from '../kill-switch/kill-confirmation-service.js';
import { createRolloutService } from '../rollouts/rollout-service.js';
import { createReleasePipelineService } from '../release-pipelines/release-pipeline-service.js';
import { createScheduledChangeService } from '../scheduled-changes/scheduled-change-service.js';
import { createSlackApp } from '../../slack/create-slack-app.js';
import { learnBotIdentity } from '../../slack/bot-identity.js';
import { createSlackAccessService } from '../users/slack-access-service.js';
import { createWebhookService } from '../webhooks/webhook-service.js';
import { webhookDestinations, webhookSecretBox } from '../webhooks/webhook-secrets.js';
import { createDatabase, pingDatabase } from '../connections/database.js';
import { CheckpointAnchor } from '../audit/checkpoint-anchor.js';
import { listEnvironments, loadDefinitions } from '../flags/flag-store.js';
import { RedisProjection } from '../cache/projection.js';
import { createWorkflowStarter } from '../temporal/workflow-starter.js';
import { withCallDeadline } from '../temporal/call-deadline.js';
import { FlagdFeed } from '../flagd/flagd-feed.js';
import { startFlagdSyncServer, type FlagdSyncServer } from '../flagd/sync-server.js';
import { createSsoRuntime, slackEmailLinking } from '../sso/runtime.js';

export interface ApiServer {
  url: string;
  port: number;
  snapshot: FlagSnapshot;
  sync: SnapshotSync;
  heartbeat: ReplicaHeartbeat;
  acker: ChangeAcker;
  /** The SDK instances reporting to this process. */
  instances: InstanceRegistry;
  flagMetrics: FlagMetrics;
  /** The flagd sync (gRPC) port, when FLAGD_SYNC_PORT is set. */
  flagdSyncPort?: number;
  /**
   * The graceful stop (SIGTERM): /readyz turns 503 at once while requests are still served (with
   * `Connection: close`) for SHUTDOWN_READINESS_DELAY_SECONDS, so a load balancer moves away; then
   * the listener closes, SSE clients are told to reconnect elsewhere, idle keep-alive connections
   * close, in-flight requests finish, and close() runs; all within SHUTDOWN_TIMEOUT_SECONDS.
   */
  shutdown(): Promise<void>;
  /** Stops at once (tests, and the end of shutdown()). */
  close(): Promise<void>;
}

/** Reconnect delay told to SSE clients of a stopping process. */
const DRAIN_RETRY_MS = 500;

/**
 * Wires the API process together and listens; used by the entry point and by integration tests (port 0).
 * `tokenCacheTtlMs` (tests only) overrides how long resolved tokens are cached (default 10 s).
 */
export async function startApiServer(config: Config, logger: Logger, options: { tokenCacheTtlMs?: number } = {}): Promise<ApiServer> {
  // First, before anything needs closing: a Slack bot whose ids can't be learnt stops start-up here.
  const slackBot = config.SLACK_SIGNING_SECRET
    ? await learnBotIdentity({ botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL, botId: config.SLACK_BOT_ID, botUserId: config.SLACK_BOT_USER_ID })
    : undefined;
  const db = createDatabase(postgresPoolConfig(config));
  // Commands fail fast while Redis is down instead of queueing: evaluation never waits on Redis anyway.
  // Reconnect attempts at most 250 ms apart, so changes resume within about a second of Redis returning.
  const retryStrategy = (times: number) => Math.min(times * 50, 250);
  // A command that gets no answer (a partition that drops packets) fails after two seconds, so the
  // reconciler notices and the replica turns STALE instead of waiting forever.
  const redisOptions = { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false, retryStrategy, commandTimeout: 2_000 } as const;
  const redis = createRedis(config, redisOptions);
  const subscriber = createRedis(config, { maxRetriesPerRequest: 1, retryStrategy });
  for (const connection of [redis, subscriber]) connection.on('error', () => undefined);

  const prefix = config.REDIS_PREFIX;
  const projection = new RedisProjection(redis, prefix);
  const snapshot = new FlagSnapshot();
  const served = () => Object.fromEntries(snapshot.environmentKeys().map((env) => [env, { version: snapshot.version(env) }]));
  // SDK instances report to this replica; their aggregates ride on the heartbeat and are announced per change.
  const heartbeat: ReplicaHeartbeat = new ReplicaHeartbeat({ redis, served, instances: () => instanceRegistry.aggregates(), logger, prefix });
  const instanceRegistry: InstanceRegistry = new InstanceRegistry({
    replica: heartbeat.replica, served: (environment) => snapshot.version(environment),
    expiryMs: config.INSTANCE_HEARTBEAT_SECONDS * 3_000, maxInstances: config.INSTANCES_MAX_PER_PROCESS, maxPerAddress: config.INSTANCES_MAX_PER_ADDRESS,
    publish: (environments) => void heartbeat.announceInstances(environments),
  });
  const cacheStats = new CacheStats();
  const sync = new SnapshotSync({
    snapshot, projection, subscriber, logger, stats: cacheStats, maxLagMs: config.MAX_SNAPSHOT_LAG_SECONDS * 1000,
    loadRevisions: async () => new Map((await listEnvironments(db)).map((env) => [env.key, env.revision])),
    loadFromDatabase: async (environment, sinceVersion) => ({ definitions: await loadDefinitions(db, environment, { sinceVersion }) }),
  });
  // Every change L1 takes in is acknowledged at once (kill confirmation waits on these), from the first load on.
  const acker = new ChangeAcker({ redis, replica: heartbeat.replica, logger, prefix });
  sync.onChange.add(({ definition }) => acker.ack(definition.environment, definition.key, definition.version));
  sync.onChange.add(({ definition, at }) => instanceRegistry.changed(definition.environment, definition.version, at));
  // flagd documents follow the same change feed as the evaluations: every change L1 takes in.
  const flagdFeed = new FlagdFeed(snapshot);
  sync.onChange.add(({ definition }) => flagdFeed.changed(definition.environment));
  await sync.start();
  // Segments: precomputed in Redis, installed into the snapshot, which recompiles the flags using them.
  const segmentProjection = new SegmentProjection(redis, prefix);
  const segmentSync = new SegmentSync({
    projection: segmentProjection, subscriber, logger,
    sink: { setSegments: (segments) => { snapshot.setSegments(segments); flagdFeed.changed(); } },
    loadRevision: () => segmentRevision(db),
    loadAll: async () => (await loadAllSegments(db)).map(({ record, members }) => ({ segment: toEngineSegment(record, members), version: record.version })),
  });
  await segmentSync.start();

  const starter = createWorkflowStarter({
    ...temporalConnectionOptions(config), namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE,
  });
  const publisher = createFlagPublisher({ projection, logger, applyLocally: (definition) => sync.applyLocal(definition) });
  const metrics = createMetrics();
  const temporalDeps = {
    db, temporal: starter.client, taskQueue: config.TEMPORAL_TASK_QUEUE, temporalUiUrl: config.TEMPORAL_UI_URL,
    namespace: config.TEMPORAL_NAMESPACE,
  };
  const tokens = tokenLookup(db);
  const tokenAuthenticator = createAuthenticator(tokens, config.RIPCORD_ADMIN_TOKEN, {
    cacheTtlMs: options.tokenCacheTtlMs,
    onFlushError: (err) => logger.warn({ err }, 'could not record token last_used_at; will retry'),
  });
  const authenticator = resilientAuthenticator(tokenAuthenticator);
  const streams = new StreamRegistry({ perToken: config.MAX_STREAMS_PER_TOKEN, perAddress: config.MAX_STREAMS_PER_ADDRESS });
  const flagdSyncStreams = new StreamRegistry({
    perToken: config.FLAGD_SYNC_MAX_STREAMS_PER_TOKEN, perAddress: config.FLAGD_SYNC_MAX_STREAMS_PER_ADDRESS,
    settings: { perToken: 'FLAGD_SYNC_MAX_STREAMS_PER_TOKEN', perAddress: 'FLAGD_SYNC_MAX_STREAMS_PER_ADDRESS' },
  });
  // Revocations, role and grant changes drop cached credentials (and the fallback kept for outages) and
  // close the streams they touch (SSE and flagd sync), in every API process at once.
  const authEvents = await createAuthEvents({
    listeners: [(change) => authenticator.invalidate(change), (change) => streams.closeTouched(change), (change) => flagdSyncStreams.closeTouched(change)],
    redis, subscriber, logger, prefix,
  });
  const authFailures = new AuthFailureLimiter(config.AUTH_FAILURES_PER_MINUTE);
  const trust = trustProxies(config.TRUSTED_PROXIES);
  heartbeat.start();
  instanceRegistry.start();
  const instanceReport = createInstanceReportEndpoint({
    registry: instanceRegistry, authenticator, authFailures, heartbeatSeconds: config.INSTANCE_HEARTBEAT_SECONDS, replica: heartbeat.replica,
  });
  const instanceDirectory = new InstanceDirectory({ redis, subscriber, registry: instanceRegistry, replica: heartbeat.replica, prefix, logger });
  await instanceDirectory.start().catch((err: unknown) => logger.warn({ err }, 'instance listings answer for this replica only until Redis answers'));
  const rollups = new EvaluationRollups(evaluationRollupStore(db), logger);
  rollups.start();
  const flagMetrics = new FlagMetrics(redis, logger, prefix, rollups);
  flagMetrics.start();
  registerServingMetrics(metrics.registry, {
    flagMetrics, cacheStats,
    servedVersions: () => snapshot.environmentKeys().map((environment) => ({ environment, version: snapshot.version(environment) })),
  });
  registerFreshnessMetrics(metrics.registry, {
    stale: () => sync.staleness() !== null, lagSeconds: () => sync.lagSeconds(), lastSyncMs: () => sync.lastReconciledAt, onPropagation: sync.onPropagation,
  });
  // OFREP providers on the event stream count as SDK instances; their re-fetches prove what they hold.
  const ofrepInstances = new OfrepStreamInstances(instanceRegistry, (environment) => snapshot.version(environment));
  // OFREP 0.3 change streams: bulk answers advertise them once the shared channel key is loaded.
  const ofrepFreshness = new OfrepFreshness(snapshot, sync.onChange);
  ofrepFreshness.start();
  const ofrepChannels = new OfrepStreamChannels({ redis, tokens, prefix });
  await ofrepChannels.load().catch((err: unknown) => logger.warn({ err }, 'OFREP event streams not advertised until Redis answers'));
  ofrepChannels.start();
  const telemetry = await startTelemetry(config, 'api', logger);
  const endpoints = createEvaluationEndpoints({
    telemetry,
    authenticator, snapshot, cacheStats, flagMetrics, metrics, isStale: () => sync.staleness() !== null,
    ensureEnvironment: (environment) => sync.ensureEnvironment(environment),
    limiter: new RateLimiter(config.RATE_LIMIT_PER_SECOND), perAddressLimiter: new RateLimiter(config.RATE_LIMIT_PER_ADDRESS_PER_SECOND), authFailures,
    eventStreams: {
      channels: ofrepChannels, freshness: ofrepFreshness, inactivityDelaySec: config.OFREP_INACTIVITY_DELAY_SECONDS,
      refetched: (principal, address, environment, version) => ofrepInstances.refetched(environment, { key: principal.tokenId ?? 'anonymous', address }, version),
    },
  });
  const heartbeatMs = config.STREAM_HEARTBEAT_SECONDS * 1000;
  const hub = new StreamHub({ snapshot, onChange: sync.onChange, heartbeatMs });
  hub.start();
  const ofrepHub = new StreamHub({ snapshot, onChange: sync.onChange, heartbeatMs, format: ofrepFreshness.format() });
  ofrepHub.start();
  const flags = createFlagService({ db, publisher });
  const rollouts = createRolloutService(temporalDeps);
  const changeRequests = createChangeRequestService({
    db, starter, temporal: temporalDeps.temporal, logger, workflowUrl: (id) => workflowUrl(config.TEMPORAL_UI_URL, config.TEMPORAL_NAMESPACE, id),
  });
  const killSwitch = createKillSwitchCommands({
    db, changeRequests,
    killSwitch: createKillSwitchService({ db, publisher, starter, logger, temporalUiUrl: config.TEMPORAL_UI_URL, namespace: config.TEMPORAL_NAMESPACE }),
  });
  const segments = createSegmentService({ db, projection: segmentProjection, publisher, sync: segmentSync, logger });
  const scheduledChanges = createScheduledChangeService(temporalDeps);
  const releasePipelines = createReleasePipelineService(temporalDeps);
  const alertTriggers = createAlertTriggerService({ db, killSwitch, logger, authFailures });
  const users = createUserService({ db, authEvents });
  const tokenService = createTokenService({ db, authEvents });
  const codeReferences = createCodeReferenceService({ db });
  const commands = {
    flags: createFlagCommands({ db, flags }),
    configs: createConfigCommands({ db, flags, changeRequests }),
    segments: createSegmentCommands({ segments, changeRequests }),
    rollouts: createRolloutCommands({ db, rollouts, changeRequests }),
    scheduledChanges: createScheduledChangeCommands({ db, scheduledChanges, changeRequests }),
    releasePipelines: createReleasePipelineCommands({ db, pipelines: releasePipelines }),
    alertTriggers: createAlertTriggerCommands({ db, triggers: alertTriggers }),
    users: createUserCommands({ users }),
    tokens: createTokenCommands({ tokens: tokenService }),
    webhooks: createWebhookCommands({ webhooks: createWebhookService({ db, destinations: webhookDestinations(config), secrets: webhookSecretBox(config) }) }),
    changePolicies: createChangePolicyCommands({ changeRequests }),
    releaseTemplates: createReleaseTemplateCommands({ pipelines: releasePipelines }),
    codeReferences: createCodeReferenceCommands({ codeReferences }),
    changeRequests: createChangeRequestCommands({ db, changeRequests }),
  };
  const slack = config.SLACK_SIGNING_SECRET
    ? createSlackApp({
      signingSecret: config.SLACK_SIGNING_SECRET, botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL,
      ...slackBot,
      defaultEnvironment: config.SLACK_DEFAULT_ENVIRONMENT,
      access: createSlackAccessService({ db, linkByEmail: slackEmailLinking(config, { db, logger }) }), killSwitch, flags, rollouts, rolloutCommands: commands.rollouts, logger, acks: new AckWatcher({ redis, subscriber, prefix }), instances: new InstanceWatcher({ redis, subscriber, prefix }),
      changeRequests: { service: changeRequests, commands: commands.changeRequests, channel: config.SLACK_ALERT_CHANNEL },
    })
    : undefined;
  const app = createApp({
    outcomes: createOutcomeService({ db }),
    authenticator,
    snapshot,
    flags,
    killSwitch,
    commands,
    killConfirmations: createKillConfirmationService({
      db, redis, prefix, workflowUrl: (id) => workflowUrl(config.TEMPORAL_UI_URL, config.TEMPORAL_NAMESPACE, id),
    }),
    rollouts,
    releasePipelines,
    dashboard: createDashboardService({ db, temporalUiUrl: config.TEMPORAL_UI_URL, namespace: config.TEMPORAL_NAMESPACE }),
    slack,
    alertTriggers,
    codeReferences,
    changeRequests,
    lifecycle: createLifecycleService({ db, thresholds: lifecycleThresholds(config) }),
    scheduledChanges,
    metrics,
    logger,
    serving: {
      endpoints, hub, flagMetrics, tickets: new StreamTickets(redis, (grant) => userMayRead(db, grant.userId, grant.environments), `${prefix}:stream-ticket:`), ofrepStreams: { hub: ofrepHub, channels: ofrepChannels, countInstance: (environment, owner, lastEventId) => ofrepInstances.opened(environment, owner, lastEventId) },
      metricsHistory: createFlagMetricsHistoryService({ db }),
    },
    security: { trust, authFailures, streams },
    instances: { report: instanceReport, directory: instanceDirectory },
    flagd: { feed: flagdFeed, ensureEnvironment: (environment) => sync.ensureEnvironment(environment) },
    sso: createSsoRuntime(config, { db, authEvents, logger }),
    governance: {
      users,
      tokens: tokenService,
      segments,
      audit: createAuditService({ db, checkpointKey: config.AUDIT_CHECKPOINT_KEY, anchor: new CheckpointAnchor(redis, prefix) }),
    },
    draining: () => draining,
    checks: {
      snapshot: () => snapshotReadiness(sync, snapshot),
      postgres: () => pingDatabase(db),
      redis: () => redis.ping(),
      temporal: () => withCallDeadline(starter.client.connection, Date.now() + 1_500, () => starter.client.workflowService.getSystemInfo({})),
    },
  });

  let draining = false;
  const handler = config.EVALUATION_FAST_PATH === 'on' ? createFastPath({ ...endpoints, instanceReport }, app, trust, (err) => logger.error({ err }, 'evaluation failed')) : app;
  const server: Server = createServer((req, res) => {
    // While stopping, every answer closes its connection, so clients reconnect to another process.
    if (draining) res.setHeader('connection', 'close');
    handler(req, res);
  });
  // A listen error (port in use, address not available) fails start-up instead of crashing the process unexplained.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  logger.info({ address, port }, 'API listening');
  const flagdSync: FlagdSyncServer | undefined = config.FLAGD_SYNC_PORT === undefined ? undefined : await startFlagdSyncServer(config.HOST, config.FLAGD_SYNC_PORT, {
    feed: flagdFeed, authenticator, streams: flagdSyncStreams, ensureEnvironment: (environment) => sync.ensureEnvironment(environment), authFailures, logger,
    instances: instanceRegistry,
  });

  let closed: Promise<void> | undefined;
  const close = async () => {
    sync.stop();
    acker.stop();
    segmentSync.stop();
    hub.stop();
    ofrepHub.stop();
    ofrepFreshness.stop();
    ofrepChannels.stop();
    await telemetry?.shutdown();
    await flagdSync?.close();
    instanceRegistry.stop();
    await instanceDirectory.stop();
    await heartbeat.stop();
    await flagMetrics.stop();
    await rollups.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await starter.close();
    await tokenAuthenticator.close();
    redis.disconnect();
    subscriber.disconnect();
    await db.end();
  };
  const closeOnce = () => (closed ??= close());

  async function shutdown(): Promise<void> {
    if (draining) return closeOnce();
    draining = true;
    const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
    logger.info({ readinessDelaySeconds: config.SHUTDOWN_READINESS_DELAY_SECONDS }, 'stopping: not ready, still serving');
    await sleep(Math.min(config.SHUTDOWN_READINESS_DELAY_SECONDS * 1000, Math.max(0, deadline - Date.now())));
    const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    hub.drain(DRAIN_RETRY_MS);
    ofrepHub.drain(DRAIN_RETRY_MS);
    server.closeIdleConnections();
    const inFlightDone = await Promise.race([listenerClosed.then(() => true), sleep(Math.max(0, deadline - Date.now())).then(() => false)]);
    if (!inFlightDone) logger.warn('stopping: requests still open at SHUTDOWN_TIMEOUT_SECONDS; closing them');
    await closeOnce();
    logger.info('stopped');
  }

  return {
    url: `http://${localAddressFor(config.HOST)}:${port}`,
    port,
    snapshot,
    sync,
    heartbeat,
    acker,
    instances: instanceRegistry,
    flagMetrics,
    flagdSyncPort: flagdSync?.port,
    shutdown,
    close: closeOnce,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** An address this machine reaches the API at: the bound one, or loopback for a wildcard bind. */
function localAddressFor(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
