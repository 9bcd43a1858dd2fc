import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import type { LifecycleThresholds } from './domain/lifecycle.js';
import {
  defaultRoleSchema, emailDomainsSchema, httpsUnlessLoopback, parseAllowedHosts, parseSecretKey, roleMappingSchema, scopesSchema, trustProxies,
} from './config-parsers.js';

/** A path to a file that this process can read (checked at start-up, read when used). */
const readableFile = (what: string) => z.string().min(1).refine((path) => {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}, `must be the path of a readable ${what}`);
/** A path to a PEM file that this process can read (read when connecting). */
const pemFile = readableFile('PEM file');
/** Whole seconds of a timeout; 0 turns it off. */
const seconds = z.coerce.number().min(0).max(86_400);
/** `host:port` pairs separated by commas. */
const hostPorts = z.string().regex(/^\s*[\w.-]+:\d{1,5}\s*(,\s*[\w.-]+:\d{1,5}\s*)*$/, 'must be host:port pairs separated by commas');

/** Every variable Ripcord reads, with its default and what it is for. Only entry points call loadConfig. */
export const configSchema = z.object({
  /** PostgreSQL, the source of truth, as the application role (DML only; docs/security.md). */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default('postgres://ripcord_app:ripcord_app@127.0.0.1:5432/ripcord'),
  /**
   * PostgreSQL as the schema owner, for `npm run migrate` only; unset: DATABASE_URL (one role for
   * both). A direct connection: required when DATABASE_URL goes through a transaction-mode pooler.
   */
  MIGRATION_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** Redis, the serving projection and pub/sub. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379/0'),
  /**
   * The first part of every Redis key and pub/sub channel (`<prefix>:changes`, `<prefix>:replicas:<id>`,
   * ...). Channels are shared by every database index of a server, so deployments (or parallel test
   * workers) sharing one Redis each need a prefix of their own; the processes of one deployment share it.
   */
  REDIS_PREFIX: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, _ and -').default('ripcord'),
  /** Temporal frontend, host:port. */
  TEMPORAL_ADDRESS: z.string().regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port').default('127.0.0.1:7233'),
  /** The Temporal namespace the API and worker use. */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Temporal Web UI, used to build links to workflows. */
  TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),
  /** The task queue the worker polls and the API starts workflows on. */
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('ripcord'),
  /**
   * A workflow bundle file for the worker to run (what `bundleWorkflowCode` writes); unset: a build's
   * own dist/workflow-bundle.js, or, from the sources, the workflows bundled at start-up. The test
   * suite bundles once per run and hands the file to every worker it starts.
   */
  WORKFLOW_BUNDLE: readableFile('workflow bundle').optional(),
  /**
   * Temporal over TLS: on when a CA, a client certificate or an API key is set; `on` for a server
   * certificate that the system's CAs already trust. Both the API's client and the worker use it.
   */
  TEMPORAL_TLS: z.enum(['on', 'off']).optional(),
  /** CA certificate (PEM) that signs the Temporal server's certificate. */
  TEMPORAL_TLS_CA: pemFile.optional(),
  /** mTLS client certificate and its key (both or neither). */
  TEMPORAL_TLS_CERT: pemFile.optional(),
  /** The key of TEMPORAL_TLS_CERT (PEM). */
  TEMPORAL_TLS_KEY: pemFile.optional(),
  /** The name the server certificate must carry when it differs from the address's host. */
  TEMPORAL_TLS_SERVER_NAME: z.string().regex(/^[\w.-]+$/, 'must be a host name').optional(),
  /** Temporal Cloud API key (sent as a bearer token; implies TLS). */
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  /** Redis over TLS (`rediss://` URLs): the CA, and an optional client certificate and key. */
  REDIS_TLS_CA: pemFile.optional(),
  /** Client certificate (PEM) for Redis over TLS, with REDIS_TLS_KEY. */
  REDIS_TLS_CERT: pemFile.optional(),
  /** The key of REDIS_TLS_CERT (PEM). */
  REDIS_TLS_KEY: pemFile.optional(),
  /**
   * Redis Sentinel: the sentinels and the name of the primary they watch. With them, REDIS_URL
   * gives only the password, database index and TLS (its host is not used).
   */
  REDIS_SENTINELS: hostPorts.optional(),
  /** The name of the primary the sentinels watch (with REDIS_SENTINELS). */
  REDIS_SENTINEL_MASTER: z.string().regex(/^[\w.-]+$/, 'must be a sentinel master name').optional(),
  /** The sentinels' own password, when they require one. */
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  /** PostgreSQL TLS, as libpq's sslmode (also read from DATABASE_URL's `sslmode`). */
  DATABASE_SSL_MODE: z.enum(['disable', 'require', 'verify-ca', 'verify-full'], 'must be disable, require, verify-ca or verify-full (node-postgres cannot fall back as prefer would)').optional(),
  /** CA for verify-ca / verify-full (also DATABASE_URL's `sslrootcert`). */
  DATABASE_SSL_CA: pemFile.optional(),
  /** Connections in each process's pool. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  /**
   * Server-side limits per statement and per idle open transaction, in seconds; 0 is off. Unset:
   * 30 and 60 with a direct connection, none sent through a transaction-mode pooler.
   */
  DATABASE_STATEMENT_TIMEOUT_SECONDS: seconds.optional(),
  /** Server-side limit on a transaction left idle, in seconds; 0 is off. Unset: 60 with a direct connection, none through a transaction-mode pooler. */
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS: seconds.optional(),
  /**
   * `transaction` when DATABASE_URL points at a transaction-mode pooler (PgBouncer): the
   * timeouts are then not sent as connection parameters (PgBouncer refuses them; set them on the
   * role), and migrations refuse to run through it (they hold a session advisory lock).
   */
  DATABASE_POOLER: z.enum(['none', 'transaction']).default('none'),
  /** Graceful stop: seconds /readyz reports 503 before the listener closes, and the bound on the whole stop. */
  SHUTDOWN_READINESS_DELAY_SECONDS: seconds.default(5),
  /** Graceful stop: the bound, in seconds, on the whole stop of an API or worker process. */
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().min(1).max(3600).default(25),
  /** Seconds a stopping worker lets running activities run before asking them to cancel (it waits for them either way). */
  WORKER_SHUTDOWN_GRACE_SECONDS: seconds.default(30),
  /**
   * How long a workflow task waits on the queue of the worker that ran the workflow last (its sticky
   * queue, where the workflow is cached) before any worker may take it. When that worker has crashed,
   * this is how long its workflows stall; shorter means more full replays when a live worker is merely
   * busy. The SDK's default is 10 s.
   */
  WORKER_STICKY_QUEUE_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3600).default(3),
  /** The port the API listens on (0 picks a free one). */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /**
   * flagd's sync protocol (gRPC `flagd.sync.v1.FlagSyncService`) on this port, on HOST, for flagd and
   * flagd's in-process providers; unset: off. 0 picks a free port (tests).
   */
  FLAGD_SYNC_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /**
   * Concurrent flagd sync streams (SyncFlags) per token (per user, for admin tokens) and API process;
   * one flagd or in-process provider holds one. 0: no limit.
   */
  FLAGD_SYNC_MAX_STREAMS_PER_TOKEN: z.coerce.number().int().min(0).default(1000),
  /** Concurrent flagd sync streams per client address and API process; 0: no limit. */
  FLAGD_SYNC_MAX_STREAMS_PER_ADDRESS: z.coerce.number().int().min(0).default(100),
  /**
   * The address the API listens on. 127.0.0.1 by default, so a development machine (whose stack runs
   * with a well-known bootstrap admin token) is not reachable from the network; containers and hosts
   * serving other machines set 0.0.0.0 (every IPv4 address) or :: (every address).
   */
  HOST: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IP address to listen on, e.g. 127.0.0.1, 0.0.0.0 or ::' }).default('127.0.0.1'),
  /** A bootstrap admin token: valid while the variable is set, never stored. */
  RIPCORD_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Slack bot token (xoxb-…): alerts via chat.postMessage and the slash commands' replies; unset, alerts are structured log lines. */
  SLACK_BOT_TOKEN: z.string().startsWith('xoxb-', 'must be a bot token (xoxb-…)').optional(),
  /** Verifies that requests to the Slack endpoints come from Slack; unset, the Slack app is off. */
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  /** The Slack channel kill-switch and rollout alerts go to. */
  SLACK_ALERT_CHANNEL: z.string().min(1).optional(),
  /** Where `/killswitch` acts unless `--env` says otherwise. */
  SLACK_DEFAULT_ENVIRONMENT: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'an environment key').default('production'),
  /** The bot's ids; with both, Bolt needs no auth.test call at start. */
  SLACK_BOT_ID: z.string().min(1).optional(),
  /** The bot's user id (with SLACK_BOT_ID, no auth.test call at start). */
  SLACK_BOT_USER_ID: z.string().min(1).optional(),
  /** Slack Web API base URL; tests point it at a local fake. */
  SLACK_API_URL: z.url().default('https://slack.com/api/'),
  /** Webhook deliveries: attempts before a delivery is marked failed, and the first retry delay (doubling). */
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  /** First retry delay of a webhook delivery, doubling up to 10 minutes (e.g. "5 seconds", "500ms"). */
  WEBHOOK_RETRY_INITIAL: z.string().regex(/^\d+(\.\d+)?\s*(ms|milliseconds?|s|seconds?|m|minutes?)$/, 'a duration such as "5 seconds" or "500ms"').default('5 seconds'),
  /**
   * Webhook destinations allowed although they resolve to loopback, private or link-local addresses:
   * comma-separated host names, addresses and CIDR ranges. Empty: public addresses only.
   */
  WEBHOOK_ALLOWED_HOSTS: z.string().default('').superRefine((value, ctx) => {
    try {
      parseAllowedHosts(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `${(error as Error).message}: give comma-separated host names, IP addresses or CIDR ranges (e.g. hooks.internal,10.1.0.0/16)` });
    }
  }),
  /** AES-256-GCM key for webhook secrets at rest: 32 bytes as 64 hex digits or base64. Required once any webhook exists. */
  WEBHOOK_SECRET_KEY: z.string().optional().refine((value) => {
    if (value === undefined) return true;
    try {
      parseSecretKey(value);
      return true;
    } catch {
      return false;
    }
  }, 'must be 32 bytes: 64 hex digits or base64 (openssl rand -base64 32)'),
  /** Prometheus HTTP API base URL, for rollout guards that read a query. */
  PROMETHEUS_URL: z.url().optional(),
  /**
   * Outcome events one reporter (a server token or a user) may weigh in a rollout guard's cohort over the
   * guard's window; beyond it its errors are scaled down with its samples. 0: no cap.
   */
  GUARD_MAX_EVENTS_PER_REPORTER: z.coerce.number().int().min(0).default(1000),
  /** Evaluation requests a second per token and API process (bursts of as many); 0 turns limiting off. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(0).default(10_000),
  /**
   * Each client address's share of a public (client) token's evaluation budget, requests a second per
   * token, address and API process (bursts of as many): one host flooding a site's shared browser
   * token is refused without refusing the site's other visitors. 0 (or RATE_LIMIT_PER_SECOND=0) turns it off.
   */
  RATE_LIMIT_PER_ADDRESS_PER_SECOND: z.coerce.number().int().min(0).default(1_000),
  /** API processes sharing the port (node:cluster); 1 runs in-process. */
  WEB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** Serve the evaluation hot paths from node:http ahead of Express (`off` to compare). */
  EVALUATION_FAST_PATH: z.enum(['on', 'off']).default('on'),
  /** Seconds between SSE heartbeat events. */
  STREAM_HEARTBEAT_SECONDS: z.coerce.number().min(0.05).max(300).default(15),
  /** OFREP change streams: seconds a hidden client keeps its stream open (advertised as `inactivityDelaySec`). */
  OFREP_INACTIVITY_DELAY_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  /** Seconds an API process's L1 may trail the Redis projection before /readyz fails. */
  MAX_SNAPSHOT_LAG_SECONDS: z.coerce.number().min(0.5).max(3600).default(3),
  /**
   * Proxies trusted to report the client's address in X-Forwarded-For: comma-separated addresses, CIDRs or
   * `loopback`/`linklocal`/`uniquelocal`. Empty: none (the socket's peer is the client).
   */
  TRUSTED_PROXIES: z.string().default('').refine((value) => {
    try {
      trustProxies(value);
      return true;
    } catch {
      return false;
    }
  }, 'comma-separated IP addresses or CIDR ranges (or loopback, linklocal, uniquelocal)'),
  /**
   * Failed authentications a minute per client address before it gets 429 (bad tokens over HTTP and
   * flagd's gRPC, unknown alert-trigger secrets); tokens this process has seen valid still pass; 0 turns it off.
   */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).default(60),
  /**
   * Seconds between an SDK instance's heartbeat reports (told to each SDK in the report's answer). An
   * instance silent for three times as long leaves the fleet and the kill confirmations' count.
   */
  INSTANCE_HEARTBEAT_SECONDS: z.coerce.number().min(0.2).max(3_600).default(15),
  /** SDK instances one API process keeps in memory at most (about 1 kB each); 0: no limit. */
  INSTANCES_MAX_PER_PROCESS: z.coerce.number().int().min(0).default(100_000),
  /** SDK instances one client address may report to one API process; 0: no limit. */
  INSTANCES_MAX_PER_ADDRESS: z.coerce.number().int().min(0).default(1_000),
  /** Concurrent event streams per token (or per user, for admin tokens) and API process; 0: no limit. */
  MAX_STREAMS_PER_TOKEN: z.coerce.number().int().min(0).default(1000),
  /** Concurrent event streams per client address and API process; 0: no limit. */
  MAX_STREAMS_PER_ADDRESS: z.coerce.number().int().min(0).default(100),
  /** HMAC key for audit checkpoints (the chain head, signed outside the database); unset: no checkpoints. */
  AUDIT_CHECKPOINT_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Seconds between audit checkpoints written by the worker (only when the chain moved); 0 turns them off. */
  AUDIT_CHECKPOINT_SECONDS: z.coerce.number().min(0).max(86_400).default(300),
  /** OpenTelemetry over OTLP/HTTP: unset, nothing is loaded or sent. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** The service name on spans and metrics (default: ripcord-api or ripcord-worker). */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /** Milliseconds between metric exports. */
  OTEL_METRIC_EXPORT_INTERVAL: z.coerce.number().int().min(100).max(3_600_000).optional(),
  /** Milliseconds between span batch exports. */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(10).max(3_600_000).optional(),
  /**
   * Flag lifecycle thresholds in days (fractions allowed): a flag is `new` for LIFECYCLE_NEW_DAYS unless
   * evaluated in LIFECYCLE_PRODUCTION_ENVIRONMENT; `launched` once it has served one value everywhere,
   * unchanged, for LIFECYCLE_LAUNCHED_DAYS; `stale` after LIFECYCLE_STALE_LAUNCHED_DAYS of that, or
   * after LIFECYCLE_UNUSED_DAYS without an evaluation anywhere (docs/lifecycle.md).
   */
  LIFECYCLE_NEW_DAYS: z.coerce.number().min(0).max(3650).default(7),
  /** Days a flag serves one value everywhere, unchanged, before it counts as launched (see LIFECYCLE_NEW_DAYS). */
  LIFECYCLE_LAUNCHED_DAYS: z.coerce.number().min(0).max(3650).default(7),
  /** Days after launch before a launched flag counts as stale (see LIFECYCLE_NEW_DAYS). */
  LIFECYCLE_STALE_LAUNCHED_DAYS: z.coerce.number().min(0).max(3650).default(30),
  /** Days without an evaluation anywhere before a flag counts as stale (see LIFECYCLE_NEW_DAYS). */
  LIFECYCLE_UNUSED_DAYS: z.coerce.number().min(0).max(3650).default(30),
  /** The environment whose evaluations end a flag's `new` stage. */
  LIFECYCLE_PRODUCTION_ENVIRONMENT: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'an environment key').default('production'),
  /**
   * When the worker posts the weekly lifecycle digest: a cron expression (UTC) for a Temporal schedule
   * the worker creates or updates at start-up, or `off` (no schedule; an existing one is deleted).
   */
  LIFECYCLE_DIGEST_SCHEDULE: z.string().regex(/^(off|(\S+\s+){4}\S+)$/, 'a five-field cron expression such as "0 9 * * 1", or off').default('0 9 * * 1'),
  /** Where digests go for owners without a linked Slack account; unset: SLACK_ALERT_CHANNEL. */
  LIFECYCLE_DIGEST_CHANNEL: z.string().min(1).optional(),
  /**
   * Single sign-on for the admin UI (docs/sso.md): the OpenID Connect issuer, discovered from its
   * `/.well-known/openid-configuration`. Unset: the UI signs in with tokens only.
   */
  OIDC_ISSUER: httpsUnlessLoopback('OIDC_ISSUER').optional(),
  /** The client registered for Ripcord at the identity provider. */
  OIDC_CLIENT_ID: z.string().min(1).max(512).optional(),
  /** Its secret (a confidential client); unset: a public client, protected by PKCE alone. */
  OIDC_CLIENT_SECRET: z.string().min(1).max(1024).optional(),
  /** Space-separated scopes to ask for; must include openid (add the one that releases the groups claim, if your provider needs one). */
  OIDC_SCOPES: scopesSchema.default('openid email profile'),
  /**
   * The claim that lists a person's groups (in the ID token or the userinfo answer). `none`: roles are
   * managed in Ripcord (providers without groups, such as Google): sign-in keeps a user's role and
   * grants, and creates new users with OIDC_DEFAULT_ROLE (`none` there: only users an admin made sign in).
   */
  OIDC_GROUPS_CLAIM: z.string().regex(/^[\w.:/-]{1,200}$/, 'a claim name such as groups').default('groups'),
  /**
   * Groups to roles and grants, a JSON array of rules in order: `{"group": …, "role": …, "grants": […]}`.
   * The first matching rule with a role gives the role; every matching rule adds its grants. Applied at
   * every sign-in, so leaving a group takes its rights away at the next one.
   */
  OIDC_ROLE_MAPPING: roleMappingSchema.default([]),
  /** The role of someone in no mapped group, or `none` to refuse their sign-in. */
  OIDC_DEFAULT_ROLE: defaultRoleSchema.default('viewer'),
  /** Comma-separated email domains allowed to sign in (e.g. example.com); empty: any the provider vouches for. */
  OIDC_ALLOWED_EMAIL_DOMAINS: emailDomainsSchema.default([]),
  /** What the sign-in button calls the provider ("Sign in with Okta"). */
  OIDC_PROVIDER_NAME: z.string().min(1).max(60).default('single sign-on'),
  /** Where browsers reach Ripcord (scheme, host, port), for the redirect URI `<this>/api/v1/sso/callback`; required with OIDC_ISSUER. */
  RIPCORD_PUBLIC_URL: httpsUnlessLoopback('RIPCORD_PUBLIC_URL')
    .refine((value) => /^[a-z]+:\/\/[^/]+\/?$/i.test(value), 'must be an origin such as https://ripcord.example.com (no path)')
    .optional(),
  /** A sign-in session ends after this long without a request… */
  SESSION_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(30 * 86_400).default(3_600),
  /** …and this long after sign-in, whatever happens. */
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(30 * 86_400).default(43_200),
  /**
   * `on`: a Slack user not yet linked is linked to the Ripcord user whose email the identity provider
   * verified at sign-in, when Slack confirms the same email (needs the bot's users:read.email scope).
   */
  SLACK_LINK_BY_VERIFIED_EMAIL: z.enum(['on', 'off']).default('off'),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).superRefine((config, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  for (const [cert, key] of [['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'], ['REDIS_TLS_CERT', 'REDIS_TLS_KEY']] as const) {
    if (config[cert] && !config[key]) issue(key, `must be set with ${cert}`);
    if (config[key] && !config[cert]) issue(cert, `must be set with ${key}`);
  }
  if (config.TEMPORAL_TLS === 'off') {
    for (const name of ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_API_KEY', 'TEMPORAL_TLS_SERVER_NAME'] as const) {
      if (config[name]) issue(name, 'needs TLS, but TEMPORAL_TLS is off');
    }
  }
  const redisTls = config.REDIS_URL.startsWith('rediss:');
  for (const name of ['REDIS_TLS_CA', 'REDIS_TLS_CERT'] as const) {
    if (config[name] && !redisTls) issue(name, 'needs a rediss:// REDIS_URL');
  }
  if (Boolean(config.REDIS_SENTINELS) !== Boolean(config.REDIS_SENTINEL_MASTER)) {
    issue(config.REDIS_SENTINELS ? 'REDIS_SENTINEL_MASTER' : 'REDIS_SENTINELS', 'REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together');
  }
  const urlSsl = new URL(config.DATABASE_URL).searchParams;
  const urlMode = urlSsl.get('sslmode');
  if (urlMode !== null && !['disable', 'require', 'verify-ca', 'verify-full'].includes(urlMode)) {
    issue('DATABASE_URL', `sslmode "${urlMode}" is not one of disable, require, verify-ca, verify-full (node-postgres cannot fall back as prefer would)`);
  }
  if (urlMode !== null && config.DATABASE_SSL_MODE && config.DATABASE_SSL_MODE !== urlMode) {
    issue('DATABASE_SSL_MODE', `says ${config.DATABASE_SSL_MODE} but DATABASE_URL says sslmode=${urlMode}`);
  }
  const mode = config.DATABASE_SSL_MODE ?? urlMode;
  if ((config.DATABASE_SSL_CA || urlSsl.get('sslrootcert')) && !(mode === 'verify-ca' || mode === 'verify-full')) {
    issue('DATABASE_SSL_CA', 'is only used with DATABASE_SSL_MODE verify-ca or verify-full');
  }
  if (config.LIFECYCLE_STALE_LAUNCHED_DAYS < config.LIFECYCLE_LAUNCHED_DAYS) {
    issue('LIFECYCLE_STALE_LAUNCHED_DAYS', `must be at least LIFECYCLE_LAUNCHED_DAYS (${config.LIFECYCLE_LAUNCHED_DAYS})`);
  }
  if (config.OIDC_ISSUER) {
    if (!config.OIDC_CLIENT_ID) issue('OIDC_CLIENT_ID', 'must be set with OIDC_ISSUER: the client id registered for Ripcord at the identity provider');
    if (!config.RIPCORD_PUBLIC_URL) issue('RIPCORD_PUBLIC_URL', 'must be set with OIDC_ISSUER: where browsers reach Ripcord, for the redirect URI <RIPCORD_PUBLIC_URL>/api/v1/sso/callback');
  } else {
    for (const name of ['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'] as const) if (config[name]) issue(name, 'needs OIDC_ISSUER');
  }
  if (config.SESSION_ABSOLUTE_TIMEOUT_SECONDS < config.SESSION_IDLE_TIMEOUT_SECONDS) {
    issue('SESSION_ABSOLUTE_TIMEOUT_SECONDS', `must be at least SESSION_IDLE_TIMEOUT_SECONDS (${config.SESSION_IDLE_TIMEOUT_SECONDS})`);
  }
  if (config.SLACK_LINK_BY_VERIFIED_EMAIL === 'on' && !config.OIDC_ISSUER) {
    issue('SLACK_LINK_BY_VERIFIED_EMAIL', 'needs OIDC_ISSUER: only emails the identity provider verified are linked');
  }
  if (config.DATABASE_POOLER === 'transaction') {
    for (const name of ['DATABASE_STATEMENT_TIMEOUT_SECONDS', 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS'] as const) {
      if (config[name]) {
        issue(name, 'a transaction-mode pooler refuses it as a connection parameter: set it to 0 and put the limit on the role (ALTER ROLE … SET statement_timeout / idle_in_transaction_session_timeout)');
      }
    }
  }
});

export type Config = z.infer<typeof configSchema>;

/** The lifecycle thresholds of a config (src/domain/lifecycle.ts). */
export function lifecycleThresholds(config: Config): LifecycleThresholds {
  return {
    newDays: config.LIFECYCLE_NEW_DAYS, launchedDays: config.LIFECYCLE_LAUNCHED_DAYS, staleLaunchedDays: config.LIFECYCLE_STALE_LAUNCHED_DAYS,
    unusedDays: config.LIFECYCLE_UNUSED_DAYS, productionEnvironment: config.LIFECYCLE_PRODUCTION_ENVIRONMENT,
  };
}

/** Thrown when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** For entry points: the config, or a clear message naming the bad variables and exit code 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
}
