import { z } from 'zod';
import type { Authenticator, Principal } from '../auth/principal.js';
import { decide } from '../auth/rbac.js';
import { fieldIssues } from '../errors.js';
import { environmentKeySchema, text, textMatching } from '../domain/text.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import { DEFAULT_ENVIRONMENT, tokenFromHeaders, type ServingRequest, type ServingResponse } from './evaluation-endpoints.js';
import type { InstanceRegistry } from './instance-registry.js';

/** A report is a few hundred bytes, a batch at most MAX_REPORTS_PER_REQUEST of them; anything past this is refused before it is parsed. */
export const MAX_INSTANCE_REPORT_BYTES = 64 * 1024;
/** Reports one request may carry (instances of one process that report in the same turn share a request). */
export const MAX_REPORTS_PER_REQUEST = 100;

/** What an SDK says about itself after every change it applies and as a heartbeat: never user data. */
export const instanceReportSchema = z.strictObject({
  id: textMatching(64, /^[A-Za-z0-9_-]{8,64}$/, '8 to 64 letters, digits, - or _ (a random id the SDK made)').meta({ description: 'a random id the instance made for itself' }),
  kind: z.enum(['node-local', 'node-remote', 'browser']).meta({ description: 'the SDK and its mode (remote-mode instances are listed, not counted: they hold no copy)' }),
  environment: environmentKeySchema.meta({ description: 'admin tokens only; client and server tokens report for their own environment' }).optional(),
  app: text(100).nullable().default(null).meta({ description: 'the application\'s name (the SDK option appName)' }),
  app_version: text(64).nullable().default(null).meta({ description: 'the application\'s version (appVersion)' }),
  host: text(255).nullable().default(null).meta({ description: 'the host name (Node) or the page\'s host (browser); never a user\'s address' }),
  sdk_version: text(32).nullable().default(null).meta({ description: 'the SDK\'s version' }),
  version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).meta({ description: 'the environment version the instance serves' }),
  closing: z.boolean().default(false).meta({ description: 'the instance is closing: it leaves the count now rather than after the expiry' }),
});

/**
 * Several instances' reports in one request: each is its own instance's report, sent when that
 * instance applied the version it names, and counted exactly as if it came alone.
 */
export const instanceReportBatchSchema = z.strictObject({
  reports: z.array(instanceReportSchema).min(1).max(MAX_REPORTS_PER_REQUEST).meta({ description: `the reports of up to ${MAX_REPORTS_PER_REQUEST} instances (of one process, sent together)` }),
});

/** One report or a batch of them. */
export const instanceReportRequestSchema = z.union([instanceReportSchema, instanceReportBatchSchema]);

export const instanceReportAnswerSchema = z.object({
  replica: z.string(),
  heartbeat_seconds: z.number().meta({ description: 'report at least this often; an instance silent for three times as long leaves the count' }),
  refused: z.array(z.object({
    id: z.string(),
    status: z.number().int().meta({ description: 'what a report of this instance alone would have been answered (403, 429)' }),
    error: z.object({ code: z.string(), message: z.string() }),
  })).optional().meta({ description: 'a batch only: the reports not counted (every other one was)' }),
});

export interface InstanceReportDeps {
  registry: InstanceRegistry;
  authenticator: Authenticator;
  authFailures?: AuthFailureLimiter;
  heartbeatSeconds: number;
  replica: string;
}

const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

const answer = (status: number, value: unknown, headers?: Record<string, string>): ServingResponse => ({
  status, headers: headers ? { ...HEADERS, ...headers } : HEADERS, body: JSON.stringify(value),
});
const refusal = (status: number, code: string, message: string, details?: unknown, headers?: Record<string, string>) =>
  answer(status, { error: { code, message, ...(details === undefined ? {} : { details }) } }, headers);

/**
 * `POST /api/v1/instances/report`, whichever server carries it (the node:http fast path, or
 * Express): a thousand instances report within milliseconds of a kill, so the work per report is one
 * token lookup (cached), one schema check and one registry update. A batch is one request for several
 * instances' reports (each counted as if alone; the refused ones listed in the answer). Any token kind may report for its
 * environment (a browser holds a client token); users need flag:read there. A report changes no flag.
 */
export function createInstanceReportEndpoint(deps: InstanceReportDeps): (request: ServingRequest) => ServingResponse | Promise<ServingResponse> {
  const accepted = answer(200, { replica: deps.replica, heartbeat_seconds: deps.heartbeatSeconds });

  type Report = z.infer<typeof instanceReportSchema>;
  type Refusal = { status: number; code: string; message: string; headers?: Record<string, string> };

  /** Counts one instance's report; the refusal when it isn't counted. */
  function count(body: Report, principal: Principal, address: string): Refusal | null {
    if (principal.kind !== 'user' && body.environment !== undefined && body.environment !== principal.environment) {
      return { status: 403, code: 'FORBIDDEN', message: `This token is for environment '${principal.environment}', not '${body.environment}'` };
    }
    const environment = principal.kind === 'user' ? (body.environment ?? DEFAULT_ENVIRONMENT) : principal.environment;
    if (principal.kind === 'user') {
      const decision = decide({ kind: 'user', role: principal.actor.role, grants: principal.grants }, { resource: 'flag', action: 'read', environment });
      if (!decision.allowed) return { status: 403, code: 'FORBIDDEN', message: decision.reason };
    }
    if (body.closing) {
      deps.registry.remove(body.id, environment);
      return null;
    }
    const owner = { key: principal.tokenId ?? (principal.kind === 'user' ? `user:${principal.actor.id}` : 'anonymous'), address };
    const { id, kind, app, app_version, host, sdk_version, version } = body;
    const refused = deps.registry.refusal(id, environment, owner);
    if (refused !== null || !deps.registry.report({ id, kind, environment, app, app_version, host, sdk_version, version }, owner)) {
      const seconds = String(deps.heartbeatSeconds);
      return { status: 429, code: 'RATE_LIMITED', message: `${refused ?? 'Too many SDK instances'}; retry after ${seconds} s`, headers: { 'retry-after': seconds } };
    }
    return null;
  }

  function invalid(issues: Parameters<typeof fieldIssues>[0]): ServingResponse {
    const details = fieldIssues(issues).map((issue) => ({ ...issue, path: issue.path === '(root)' ? 'body' : `body.${issue.path}` }));
    return refusal(400, 'VALIDATION_FAILED', 'Invalid request body', details);
  }

  function handle(request: ServingRequest, principal: Principal): ServingResponse {
    let raw: unknown;
    try {
      raw = request.body && request.body.length > 0 ? JSON.parse(request.body.toString('utf8')) : undefined;
    } catch {
      return refusal(400, 'PARSE_ERROR', 'The request body is not valid JSON');
    }
    if (raw !== null && typeof raw === 'object' && 'reports' in raw) {
      const batch = instanceReportBatchSchema.safeParse(raw);
      if (!batch.success) return invalid(batch.error.issues);
      const refused = [];
      for (const report of batch.data.reports) {
        const refusedOne = count(report, principal, request.address);
        if (refusedOne) refused.push({ id: report.id, status: refusedOne.status, error: { code: refusedOne.code, message: refusedOne.message } });
      }
      return refused.length === 0 ? accepted : answer(200, { replica: deps.replica, heartbeat_seconds: deps.heartbeatSeconds, refused });
    }
    const parsed = instanceReportSchema.safeParse(raw);
    if (!parsed.success) return invalid(parsed.error.issues);
    const refused = count(parsed.data, principal, request.address);
    return refused ? refusal(refused.status, refused.code, refused.message, undefined, refused.headers) : accepted;
  }

  async function authenticated(request: ServingRequest, token: string | null): Promise<ServingResponse> {
    const blockedFor = deps.authFailures?.retryAfterFor(request.address, token, deps.authenticator) ?? 0;
    if (blockedFor > 0) {
      return refusal(429, 'RATE_LIMITED', `Too many failed authentications from this address; retry after ${blockedFor} s`, undefined, { 'retry-after': String(blockedFor) });
    }
    let principal: Principal | null;
    try {
      principal = token ? await deps.authenticator.authenticate(token) : null;
    } catch {
      return refusal(503, 'UNAVAILABLE', 'The token store is unavailable and this token is not known to this replica yet; retry shortly');
    }
    if (!principal) {
      deps.authFailures?.fail(request.address);
      return refusal(401, 'UNAUTHORIZED', 'A valid API token is required (Authorization: Bearer <token>)');
    }
    return handle(request, principal);
  }

  return (request) => {
    if (request.body && request.body.length > MAX_INSTANCE_REPORT_BYTES) {
      return refusal(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${MAX_INSTANCE_REPORT_BYTES} bytes`);
    }
    const token = tokenFromHeaders((name) => request.header(name));
    // A token resolved moments ago is answered from memory, synchronously (a heartbeat, a kill's report).
    const known = token ? deps.authenticator.cached?.(token) : undefined;
    return known ? handle(request, known) : authenticated(request, token);
  };
}
