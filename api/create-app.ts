import express, { type Express } from 'express';
import type { Authenticator } from '../src/auth/principal.js';
import type { FlagSnapshot } from '../src/cache/flag-snapshot.js';
import { NotFoundError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import type { Metrics } from '../src/metrics.js';
import type { FlagService } from '../src/flags/flag-service.js';
import type { KillSwitchCommands } from '../src/kill-switch/kill-switch-commands.js';
import type { ConfigCommands } from '../src/flags/config-commands.js';
import type { FlagCommands } from '../src/flags/flag-commands.js';
import type { SegmentCommands } from '../src/segments/segment-commands.js';
import type { RolloutCommands } from '../src/rollouts/rollout-commands.js';
import type { ScheduledChangeCommands } from '../src/scheduled-changes/scheduled-change-commands.js';
import type { ReleasePipelineCommands } from '../src/release-pipelines/release-pipeline-commands.js';
import type { AlertTriggerCommands } from '../src/alert-triggers/alert-trigger-commands.js';
import type { UserCommands } from '../src/users/user-commands.js';
import type { TokenCommands } from '../src/users/token-commands.js';
import type { WebhookCommands } from '../src/webhooks/webhook-commands.js';
import type { ChangePolicyCommands } from '../src/change-requests/change-policy-commands.js';
import type { ReleaseTemplateCommands } from '../src/release-pipelines/release-template-commands.js';
import type { CodeReferenceCommands } from '../src/code-references/code-reference-commands.js';
import type { ChangeRequestCommands } from '../src/change-requests/change-request-commands.js';
import type { KillConfirmationService } from '../src/kill-switch/kill-confirmation-service.js';
import type { OutcomeService } from '../src/flag-metrics/outcome-service.js';
import type { FlagMetricsHistoryService } from '../src/flag-metrics/flag-metrics-history.js';
import type { EvaluationEndpoints, ServingRequest, ServingResponse } from '../src/serving/evaluation-endpoints.js';
import type { FlagMetrics } from '../src/serving/flag-metrics.js';
import type { EventStreamDeps } from './event-stream.js';
import type { InstanceDirectory } from '../src/serving/instance-directory.js';
import { createInstanceReportRouter, createInstancesRouter } from './routes/instances.js';
import type { StreamHub } from '../src/serving/stream-hub.js';
import { refuseUndecodablePaths } from './path-params.js';
import type { AuthFailureLimiter } from '../src/serving/auth-failure-limiter.js';
import type { TrustProxy } from '../src/serving/client-address.js';
import type { StreamRegistry } from '../src/serving/stream-registry.js';
import type { OfrepStreamChannels } from '../src/serving/ofrep-event-streams.js';
import { authenticate } from './auth.js';
import { errorHandler, refuseDeepBodies } from './error-handler.js';
import { createAuditRouter } from './routes/audit.js';
import { createOpenApiRouter } from './routes/openapi.js';
import { createUiRouter } from './routes/ui.js';
import { createSegmentsRouter } from './routes/segments.js';
import { createTokensRouter } from './routes/tokens.js';
import { createUsersRouter } from './routes/users.js';
import type { AuditService } from '../src/audit/audit-service.js';
import type { SegmentService } from '../src/segments/segment-service.js';
import type { TokenService } from '../src/users/token-service.js';
import type { UserService } from '../src/users/user-service.js';
import { createFlagsRouter } from './routes/flags.js';
import { createKillSwitchRouter } from './routes/kill-switch.js';
import { createEvaluateRouter } from './routes/evaluate.js';
import { createFlagMetricsRouter } from './routes/flag-metrics.js';
import { createDashboardRouter } from './routes/dashboard.js';
import type { DashboardService } from '../src/dashboard/dashboard-service.js';
import { createOfrepRouter } from './routes/ofrep.js';
import { createEventsRouter } from './routes/events.js';
import { createRolloutsRouter } from './routes/rollouts.js';
import { createReleasePipelinesRouter } from './routes/release-pipelines.js';
import type { ReleasePipelineService } from '../src/release-pipelines/release-pipeline-service.js';
import { createScheduledChangesRouter } from './routes/scheduled-changes.js';
import { createExplainRouter } from './routes/explain.js';
import { createDefinitionsRouter } from './routes/definitions.js';
import { createFlagdRouter } from './routes/flagd.js';
import type { FlagdFeed } from '../src/flagd/flagd-feed.js';
import type { ScheduledChangeService } from '../src/scheduled-changes/scheduled-change-service.js';
import type { RolloutService } from '../src/rollouts/rollout-service.js';
import type { Router } from 'express';
import { createWebhooksRouter } from './routes/webhooks.js';
import { createAlertTriggersRouter, createTriggerHookRouter } from './routes/alert-triggers.js';
import { createCodeReferencesRouter } from './routes/code-references.js';
import { createLifecycleRouter } from './routes/lifecycle.js';
import type { LifecycleService } from '../src/lifecycle/lifecycle-service.js';
import type { CodeReferenceService } from '../src/code-references/code-reference-service.js';
import type { AlertTriggerService } from '../src/alert-triggers/alert-trigger-service.js';
import type { ChangeRequestService } from '../src/change-requests/change-request-service.js';
import { createChangeRequestsRouter } from './routes/change-requests.js';
import { createStreamRouter } from './routes/stream.js';
import { createStreamTicketsRouter } from './routes/stream-tickets.js';
import type { StreamTickets } from '../src/serving/stream-tickets.js';
import { createOperationsRouter, type ReadinessChecks } from './routes/operations.js';
import { createSsoPublicRouter, createSsoSessionRouter } from './routes/sso.js';
import type { SsoService } from '../src/sso/sso-service.js';
import type { SsoCookies } from '../src/sso/cookies.js';
import { csrfTokenMatches } from '../src/sso/session-secret.js';
import { collectRouteDocs, documentRoute, type RouteDoc } from './route-docs.js';

export interface AppDeps {
  /** Outcomes reported to POST /api/v1/events, for rollout guards. */
  outcomes: OutcomeService;
  authenticator: Authenticator;
  snapshot: FlagSnapshot;
  flags: FlagService;
  /** Pulling and releasing kill switches: the one write path every entry point shares. */
  killSwitch: KillSwitchCommands;
  /** The other write commands every entry point shares: each decides rights (and the change policy where one covers the write). */
  commands: {
    flags: FlagCommands; configs: ConfigCommands; segments: SegmentCommands; rollouts: RolloutCommands;
    scheduledChanges: ScheduledChangeCommands; releasePipelines: ReleasePipelineCommands; alertTriggers: AlertTriggerCommands;
    users: UserCommands; tokens: TokenCommands; webhooks: WebhookCommands; changePolicies: ChangePolicyCommands;
    releaseTemplates: ReleaseTemplateCommands; codeReferences: CodeReferenceCommands; changeRequests: ChangeRequestCommands;
  };
  /** Reads a kill's per-replica confirmation (GET …/kill-switch). */
  killConfirmations?: KillConfirmationService;
  rollouts: RolloutService;
  releasePipelines: ReleasePipelineService;
  dashboard: DashboardService;
  scheduledChanges: ScheduledChangeService;
  /** Bolt's receiver for /slack/events, when Slack is configured; it reads the raw body itself. */
  slack?: Router;
  /** Alert triggers: managed under /api/v1, called by alerting systems at /hooks/v1/triggers/{secret}. */
  alertTriggers: AlertTriggerService;
  /** Change policies and requests: covered writes become requests that need approvals. */
  changeRequests?: ChangeRequestService;
  /** Flag references found in code by `ripcord refs --upload`. */
  codeReferences: CodeReferenceService;
  /** Flag lifecycle stages and the "ready to remove" list. */
  lifecycle: LifecycleService;
  metrics: Metrics;
  checks: ReadinessChecks;
  /** True once the process is stopping: /readyz answers 503 so load balancers move traffic away. */
  draining?: () => boolean;
  logger: Logger;
  /** Evaluation serving: OFREP, native evaluate, SSE, per-flag metrics. */
  serving: {
    endpoints: EvaluationEndpoints; hub: StreamHub; flagMetrics: FlagMetrics; tickets: StreamTickets;
    /** OFREP 0.3 change streams: their own hub (notification format) and the channel credentials. */
    ofrepStreams?: { hub: StreamHub; channels: OfrepStreamChannels; countInstance?: EventStreamDeps['countInstance'] };
    /** The metrics-history route's reads. */
    metricsHistory: FlagMetricsHistoryService;
  };
  /** The trust boundary: proxies trusted for X-Forwarded-For, the failed-authentication limit, the open streams. */
  security: { trust: TrustProxy; authFailures: AuthFailureLimiter; streams: StreamRegistry };
  /** SDK instances: their reports (any token kind, CORS) and the fleet listing across replicas. */
  instances?: { report: (request: ServingRequest) => ServingResponse | Promise<ServingResponse>; directory: InstanceDirectory };
  /** Management and governance: users, tokens, segments, audit. */
  governance: { users: UserService; tokens: TokenService; segments: SegmentService; audit: AuditService };
  /** Single sign-on for the admin UI: sign-in with the identity provider and the sessions it opens. */
  sso: { service: SsoService; cookies: SsoCookies };
  /** flagd-compatible sync: each environment's flags as a flagd document. */
  flagd: { feed: FlagdFeed; ensureEnvironment: (environment: string) => Promise<boolean> };
}

/** The HTTP API: operations, OFREP evaluation and management under /api/v1. */
export function createApp(deps: AppDeps): Express {
  // /openapi.json documents the routes this app defined, not every route of the process.
  let ownDocs: RouteDoc[] = [];
  const { built, docs } = collectRouteDocs(() => buildApp(deps, () => ownDocs));
  ownDocs = docs;
  return built;
}

function buildApp(deps: AppDeps, ownRouteDocs: () => RouteDoc[]): Express {
  const app = express();
  app.disable('x-powered-by');
  // X-Forwarded-For counts only from TRUSTED_PROXIES (default none): req.ip is the client for limits and audit.
  app.set('trust proxy', deps.security.trust);
  app.use(refuseUndecodablePaths);

  // Before any body parser: Bolt verifies Slack's signature over the raw body.
  if (deps.slack) {
    documentRoute({
      method: 'post', path: '/slack/events', tag: 'Slack', summary: 'Slack slash commands and interactivity (Bolt; signed with SLACK_SIGNING_SECRET)',
      auth: 'Slack request signature (X-Slack-Signature, X-Slack-Request-Timestamp within 5 minutes either way)',
      responses: { 200: { description: 'acknowledged' } }, errors: [401, 413],
    });
    app.use(deps.slack);
  }
  app.use(createOperationsRouter({ checks: deps.checks, metrics: deps.metrics, draining: deps.draining }));
  const ofrepStreams = deps.serving.ofrepStreams;
  app.use(createOfrepRouter({
    endpoints: deps.serving.endpoints,
    eventStream: ofrepStreams && {
      hub: ofrepStreams.hub, channels: ofrepStreams.channels, streams: deps.security.streams, metrics: deps.metrics, authFailures: deps.security.authFailures,
      countInstance: ofrepStreams.countInstance,
    },
  }));
  app.use(createEvaluateRouter(deps.serving.endpoints));
  app.use(createTriggerHookRouter(deps.alertTriggers));
  app.use(createStreamRouter({
    authenticator: deps.authenticator, hub: deps.serving.hub, metrics: deps.metrics, tickets: deps.serving.tickets,
    streams: deps.security.streams, authFailures: deps.security.authFailures,
  }));
  if (deps.instances) {
    app.use(createInstanceReportRouter(deps.instances.report));
  }

  app.use(createSsoPublicRouter(deps.sso.service, deps.sso.cookies));

  const api = express.Router();
  // Management answers change with every write: browsers must not reuse them (ETags here are for If-Match).
  api.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  api.use(express.json({ limit: '256kb' }));
  api.use(refuseDeepBodies);
  const { service: sso, cookies } = deps.sso;
  api.use(authenticate(deps.authenticator, deps.security.authFailures, {
    secretOf: (req) => cookies.read(req.get('cookie'), cookies.sessionName),
    authenticate: (secret) => sso.authenticate(secret),
    csrfMatches: csrfTokenMatches,
  }));
  api.use(createSsoSessionRouter(sso, cookies));
  api.use(createFlagMetricsRouter({ flagMetrics: deps.serving.flagMetrics, snapshot: deps.snapshot, history: deps.serving.metricsHistory }));
  api.use(createDashboardRouter(deps.dashboard, deps.lifecycle));
  api.use(createStreamTicketsRouter({ tickets: deps.serving.tickets, snapshot: deps.snapshot }));
  api.use(createLifecycleRouter(deps.lifecycle));
  api.use(createFlagsRouter(deps.flags, deps.commands, deps.lifecycle));
  api.use(createKillSwitchRouter(deps.killSwitch, deps.flags, deps.killConfirmations));
  api.use(createAuditRouter(deps.governance.audit));
  api.use(createUsersRouter(deps.governance.users, deps.commands.users, deps.alertTriggers, deps.governance.tokens));
  api.use(createTokensRouter(deps.commands.tokens));
  api.use(createSegmentsRouter(deps.governance.segments, deps.commands.segments));
  api.use(createRolloutsRouter(deps.commands.rollouts));
  api.use(createReleasePipelinesRouter(deps.releasePipelines, { pipelines: deps.commands.releasePipelines, templates: deps.commands.releaseTemplates }));
  api.use(createScheduledChangesRouter(deps.scheduledChanges, deps.commands.scheduledChanges, deps.flags));
  if (deps.changeRequests) api.use(createChangeRequestsRouter(deps.changeRequests, deps.commands.changePolicies, deps.commands.changeRequests));
  api.use(createExplainRouter(deps.snapshot, deps.flags));
  api.use(createEventsRouter(deps.outcomes));
  if (deps.instances) api.use(createInstancesRouter(deps.instances.directory));
  api.use(createWebhooksRouter(deps.commands.webhooks));
  api.use(createAlertTriggersRouter(deps.alertTriggers, deps.commands.alertTriggers, deps.flags));
  api.use(createCodeReferencesRouter(deps.codeReferences, deps.commands.codeReferences));
  api.use(createDefinitionsRouter(deps.snapshot));
  api.use(createFlagdRouter(deps.flagd.feed, deps.flagd.ensureEnvironment));
  app.use('/api/v1', api);
  // After the routers above: each registered its route docs.
  app.use(createOpenApiRouter(ownRouteDocs));
  // The admin UI at `/`; it never answers the paths above.
  app.use(createUiRouter());

  app.use((req, _res, next) => next(new NotFoundError(`No route for ${req.method} ${req.path}`)));
  app.use(errorHandler(deps.logger));
  return app;
}
