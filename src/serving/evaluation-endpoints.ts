import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { jsonDepth, MAX_JSON_DEPTH, text } from '../domain/text.js';
import type { Authenticator, Principal } from '../auth/principal.js';
import type { CacheStats } from '../cache/cache-stats.js';
import type { FlagSnapshot } from '../cache/flag-snapshot.js';
import { evaluate, type CompiledFlag, type EvaluationContext, type EvaluationResult } from '../engine/index.js';
import type { Metrics } from '../metrics.js';
import { etagOf, matchesIfNoneMatch } from './etag.js';
import type { FlagMetrics } from './flag-metrics.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import type { RateLimiter } from './rate-limiter.js';
import type { EvaluationRecord, Telemetry } from '../telemetry/index.js';
import { OFREP_EVENT_STREAM_PATH, parseConfigEtag, parseConfigLastModified, type OfrepFreshness, type OfrepStreamChannels } from './ofrep-event-streams.js';

/** A request as the evaluation endpoints see it, whatever server carried it. */
export interface ServingRequest {
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** The raw body; undefined or empty when none was sent. */
  body: Buffer | undefined;
  /** A query-string parameter by name (the first when repeated). */
  query(name: string): string | undefined;
  /** The client's address (through trusted proxies only), for the failed-authentication limit. */
  address: string;
}

/** What to answer: status, headers and an optional JSON body already serialised. */
export interface ServingResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface EvaluationEndpointsDeps {
  authenticator: Authenticator;
  snapshot: FlagSnapshot;
  /** Loads an environment L1 doesn't hold from Redis or Postgres; false when it doesn't exist. */
  ensureEnvironment: (environment: string) => Promise<boolean>;
  limiter: RateLimiter;
  /** Refuses addresses that failed authentication too often, before any lookup. */
  authFailures?: AuthFailureLimiter;
  flagMetrics: FlagMetrics;
  cacheStats: CacheStats;
  metrics: Metrics;
  /** True while this replica can't vouch for its snapshot: answers keep their values with reason STALE. */
  isStale?: () => boolean;
  /** OpenTelemetry (spans and `feature_flag.evaluations`); absent when no OTLP endpoint is set. */
  telemetry?: Telemetry;
  /** OFREP 0.3 change streams advertised in bulk answers; none when absent. */
  eventStreams?: {
    channels: OfrepStreamChannels;
    freshness: OfrepFreshness;
    /** Seconds a hidden client keeps its stream open (`inactivityDelaySec`). */
    inactivityDelaySec: number;
  };
}

/** How long a re-fetch that names a configuration this replica doesn't hold yet waits for it. */
export const FRESHNESS_WAIT_MS = 1_000;

/** The answer as served by a stale replica: same value and variant, OpenFeature reason STALE (errors stay errors). */
function asStale(result: EvaluationResult): EvaluationResult {
  return result.reason === 'ERROR' ? result : { ...result, reason: 'STALE' };
}

export const DEFAULT_ENVIRONMENT = 'production';
/** Largest evaluation request body, in bytes. */
export const MAX_EVALUATION_BODY_BYTES = 64 * 1024;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;
const OFREP_ERROR_CODES = new Set(['PARSE_ERROR', 'TARGETING_KEY_MISSING', 'INVALID_CONTEXT', 'GENERAL']);

/** CORS for browser callers: tokens travel in headers, never cookies, so any origin may call. */
export const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'ETag, Retry-After',
} as const;
export const CORS_PREFLIGHT_HEADERS = {
  ...CORS_HEADERS,
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'Authorization, X-API-Key, If-None-Match, Content-Type, X-Environment, Last-Event-ID',
  'access-control-max-age': '600',
} as const;

/** The token of a request: `Authorization: Bearer <token>`, else `X-API-Key`. */
export function tokenFromHeaders(header: (name: string) => string | undefined): string | null {
  const authorization = header('authorization');
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    return match?.[1] ?? null;
  }
  return header('x-api-key') ?? null;
}

type Caller = { principal: Principal; environment: string };

const json = (status: number, value: unknown, headers?: Record<string, string>): ServingResponse => ({
  status,
  headers: { ...JSON_HEADERS, ...headers },
  body: JSON.stringify(value),
});

const ofrepError = (status: number, key: string | undefined, errorCode: string, errorDetails: string) =>
  json(status, key === undefined ? { errorCode, errorDetails } : { key, errorCode, errorDetails });

const nativeError = (status: number, code: string, message: string, details?: unknown, headers?: Record<string, string>) =>
  json(status, { error: { code, message, ...(details === undefined ? {} : { details }) } }, headers);

/**
 * What a notification-triggered re-fetch expects this replica to hold: `flagConfigEtag` names the
 * version; `flagConfigLastModified` (a time, coarser) counts only without it.
 */
function configWanted(req: ServingRequest): { want?: { version?: number; lastModified?: number } } | { error: string } {
  const etag = req.query('flagConfigEtag');
  if (etag !== undefined) {
    const version = parseConfigEtag(etag);
    return typeof version === 'number' ? { want: { version } } : version;
  }
  const lastModified = req.query('flagConfigLastModified');
  if (lastModified !== undefined) {
    const seconds = parseConfigLastModified(lastModified);
    return typeof seconds === 'number' ? { want: { lastModified: seconds } } : seconds;
  }
  return {};
}

/** Parses a JSON body; an empty body is an empty object. */
function parseBody(body: Buffer | undefined): { value: unknown } | { error: string } {
  if (!body || body.length === 0) return { value: {} };
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (jsonDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return { error: `The request body is nested deeper than ${MAX_JSON_DEPTH} levels` };
    return { value };
  } catch {
    return { error: 'The request body is not valid JSON' };
  }
}

/**
 * OFREP's request body as the OpenAPI document describes it. The hot path checks the same rules by
 * hand in ofrepContext (a zod parse per evaluation would cost more than the evaluation).
 */
export const ofrepRequestSchema = z.object({
  context: z
    .object({ targetingKey: z.string().optional() })
    .catchall(z.unknown())
    .nullish()
    .meta({ description: 'OpenFeature context: targetingKey and attributes' }),
});

/** OFREP's `{context}`: an object whose targetingKey, when present, is a string. */
function ofrepContext(body: unknown): { context: EvaluationContext } | { error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: 'the body must be a JSON object' };
  const context = (body as { context?: unknown }).context;
  if (context === undefined || context === null) return { context: {} };
  if (typeof context !== 'object' || Array.isArray(context)) return { error: 'context must be an object' };
  const targetingKey = (context as { targetingKey?: unknown }).targetingKey;
  if (targetingKey !== undefined && typeof targetingKey !== 'string') return { error: 'context.targetingKey must be a string' };
  return { context: context as EvaluationContext };
}

/** The body of POST /api/v1/evaluate. */
export const nativeRequestSchema = z.object({
  context: z
    .object({ targetingKey: text(1024).optional() })
    .catchall(z.unknown())
    .default({}),
  flags: z.array(text(256).min(1)).max(1000).optional(),
});

function metadataOf(flag: CompiledFlag, result: EvaluationResult): Record<string, string | number | boolean> {
  const metadata: Record<string, string | number | boolean> = { version: flag.version };
  if (result.ruleId) metadata.ruleId = result.ruleId;
  if (result.metadata) Object.assign(metadata, result.metadata);
  return metadata;
}

/** What telemetry records of one evaluation. */
function recordOf(flag: CompiledFlag, environment: string, result: EvaluationResult): EvaluationRecord {
  return { key: flag.key, environment, variant: result.variant, reason: result.reason, version: flag.version, errorCode: result.errorCode };
}

// A flag answers few distinct results (on, off, a rule's value…): their JSON is kept per compiled
// flag (so a new version starts afresh) and a bulk answer is mostly string joins.
const fragments = new WeakMap<CompiledFlag, Map<string, string>>();
const MAX_FRAGMENTS_PER_FLAG = 32;

/** One flag's entry of an OFREP bulk answer, as JSON. */
function bulkItem(flag: CompiledFlag, result: EvaluationResult): string {
  if (result.reason === 'ERROR') {
    const code = result.errorCode && OFREP_ERROR_CODES.has(result.errorCode) ? result.errorCode : 'GENERAL';
    return JSON.stringify({ key: flag.key, errorCode: code, errorDetails: result.errorMessage ?? 'evaluation failed' });
  }
  const value = result.value;
  const cacheable = result.metadata === undefined && (value === null || typeof value !== 'object');
  const id = cacheable ? `${result.variant}\u0000${result.reason}\u0000${result.ruleId ?? ''}\u0000${typeof value}\u0000${String(value)}` : '';
  let byResult = cacheable ? fragments.get(flag) : undefined;
  const cached = byResult?.get(id);
  if (cached !== undefined) return cached;
  const json = JSON.stringify({ key: flag.key, value, reason: result.reason, variant: result.variant, metadata: metadataOf(flag, result) });
  if (cacheable) {
    if (!byResult) fragments.set(flag, (byResult = new Map()));
    if (byResult.size >= MAX_FRAGMENTS_PER_FLAG) byResult.clear();
    byResult.set(id, json);
  }
  return json;
}

/** The OFREP and native evaluation endpoints, independent of the HTTP server that carries them. */
export function createEvaluationEndpoints(deps: EvaluationEndpointsDeps) {
  const { snapshot, cacheStats, flagMetrics } = deps;

  /** Authenticates, fixes the environment and spends rate budget; a response when the caller may not go on. */
  async function admit(req: ServingRequest, native: boolean): Promise<Caller | ServingResponse> {
    const blockedFor = deps.authFailures?.retryAfter(req.address) ?? 0;
    if (blockedFor > 0) {
      const headers = { 'retry-after': String(blockedFor) };
      return native
        ? nativeError(429, 'RATE_LIMITED', `Too many failed authentications from this address; retry after ${blockedFor} s`, undefined, headers)
        : { status: 429, headers };
    }
    const token = tokenFromHeaders((name) => req.header(name));
    let principal: Principal | null;
    try {
      principal = token ? await deps.authenticator.authenticate(token) : null;
    } catch {
      return native
        ? nativeError(503, 'UNAVAILABLE', 'The token store is unavailable and this token is not known to this replica yet; retry shortly')
        : json(503, { errorDetails: 'The token store is unavailable; retry shortly' });
    }
    // OFREP answers 401/403 without a body; the native API uses the error family.
    if (!principal) deps.authFailures?.fail(req.address);
    if (!principal) return native ? nativeError(401, 'UNAUTHORIZED', 'A valid API token is required (Authorization: Bearer <token>)') : { status: 401 };
    const requested = req.header('x-environment');
    let environment: string;
    if (principal.kind === 'user') {
      environment = requested ?? DEFAULT_ENVIRONMENT;
    } else {
      if (requested !== undefined && requested !== principal.environment) {
        return native
          ? nativeError(403, 'FORBIDDEN', `This token is for environment '${principal.environment}', not '${requested}'`)
          : { status: 403 };
      }
      environment = principal.environment;
    }
    const caller = principal.tokenId ?? (principal.kind === 'user' ? `user:${principal.actor.id}` : 'anonymous');
    const decision = deps.limiter.take(caller);
    if (!decision.allowed) {
      deps.metrics.rateLimited.inc({ environment });
      const headers = { 'retry-after': String(decision.retryAfterSeconds) };
      return native
        ? nativeError(429, 'RATE_LIMITED', `Too many requests for this token; retry after ${decision.retryAfterSeconds} s`, undefined, headers)
        : { status: 429, headers };
    }
    return { principal, environment };
  }

  /** L1 lookup of an environment; on a miss, L2/L3 load it once. */
  async function environmentLoaded(environment: string): Promise<{ known: boolean; hit: boolean }> {
    if (snapshot.hasEnvironment(environment)) return { known: true, hit: true };
    cacheStats.l1Misses++;
    return { known: await deps.ensureEnvironment(environment), hit: false };
  }

  function evaluateCounted(flag: CompiledFlag, environment: string, context: EvaluationContext, now: number, hit: boolean): EvaluationResult {
    const started = performance.now();
    let result = evaluate(flag, context, now);
    const elapsedMs = performance.now() - started;
    if (deps.isStale?.()) result = asStale(result);
    cacheStats.l1Hits++;
    flagMetrics.record(environment, flag, result, elapsedMs, now, hit);
    return result;
  }

  /** Evaluates many flags; the engine time is measured once for the batch and shared out. */
  function evaluateMany(flags: readonly CompiledFlag[], environment: string, context: EvaluationContext, now: number, hit: boolean): EvaluationResult[] {
    const started = performance.now();
    const results: EvaluationResult[] = new Array(flags.length);
    for (let i = 0; i < flags.length; i++) results[i] = evaluate(flags[i]!, context, now);
    const each = (performance.now() - started) / Math.max(1, flags.length);
    if (deps.isStale?.()) for (let i = 0; i < results.length; i++) results[i] = asStale(results[i]!);
    cacheStats.l1Hits += flags.length;
    for (let i = 0; i < flags.length; i++) flagMetrics.record(environment, flags[i]!, results[i]!, each, now, hit);
    return results;
  }

  /** The bulk answer, with an ETag of its bytes; 304 when the caller already holds them. */
  function withEtag(req: ServingRequest, value: unknown): ServingResponse {
    return withEtagBody(req, JSON.stringify(value));
  }

  function withEtagBody(req: ServingRequest, body: string): ServingResponse {
    const etag = etagOf(body);
    if (matchesIfNoneMatch(req.header('if-none-match'), etag)) return { status: 304, headers: { etag } };
    return { status: 200, headers: { ...JSON_HEADERS, etag }, body };
  }

  /** The `"eventStreams"` member of a bulk answer (with its leading comma), or nothing. */
  function eventStreamsOf(principal: Principal, environment: string): string {
    const streams = deps.eventStreams;
    const channel = streams?.channels.channelFor(principal, environment);
    if (!streams || !channel) return '';
    // `endpoint` without `origin`: the provider connects to the origin it was configured with, so a
    // proxy in front of Ripcord needs no setting here.
    const stream = { type: 'sse', endpoint: { requestUri: `${OFREP_EVENT_STREAM_PATH}?channel=${channel}` }, inactivityDelaySec: streams.inactivityDelaySec };
    return `,"eventStreams":[${JSON.stringify(stream)}]`;
  }

  return {
    /** `POST /ofrep/v1/evaluate/flags/{key}` */
    async ofrepFlag(key: string, req: ServingRequest): Promise<ServingResponse> {
      const admitted = await admit(req, false);
      if ('status' in admitted) return admitted;
      const parsed = parseBody(req.body);
      if ('error' in parsed) return ofrepError(400, key, 'PARSE_ERROR', parsed.error);
      const context = ofrepContext(parsed.value);
      if ('error' in context) return ofrepError(400, key, 'INVALID_CONTEXT', context.error);

      const { environment } = admitted;
      const { hit } = await environmentLoaded(environment);
      const flag = snapshot.get(environment, key);
      if (!flag) {
        cacheStats.l1Misses++;
        return ofrepError(404, key, 'FLAG_NOT_FOUND', `flag '${key}' was not found in environment '${environment}'`);
      }
      const now = Date.now();
      const started = performance.now();
      const result = evaluateCounted(flag, environment, context.context, now, hit);
      deps.metrics.evaluationDuration.observe((performance.now() - started) / 1000);
      deps.telemetry?.evaluation(recordOf(flag, environment, result));
      if (result.reason === 'ERROR') {
        const code = result.errorCode && OFREP_ERROR_CODES.has(result.errorCode) ? result.errorCode : 'GENERAL';
        return ofrepError(400, key, code, result.errorMessage ?? 'evaluation failed');
      }
      return json(200, { key, value: result.value, reason: result.reason, variant: result.variant, metadata: metadataOf(flag, result) });
    },

    /** `POST /ofrep/v1/evaluate/flags` */
    async ofrepBulk(req: ServingRequest): Promise<ServingResponse> {
      const admitted = await admit(req, false);
      if ('status' in admitted) return admitted;
      const parsed = parseBody(req.body);
      if ('error' in parsed) return ofrepError(400, undefined, 'PARSE_ERROR', parsed.error);
      const context = ofrepContext(parsed.value);
      if ('error' in context) return ofrepError(400, undefined, 'INVALID_CONTEXT', context.error);

      const wanted = configWanted(req);
      if ('error' in wanted) return ofrepError(400, undefined, 'PARSE_ERROR', wanted.error);

      const { environment, principal } = admitted;
      const { known, hit } = await environmentLoaded(environment);
      if (!known) return ofrepError(400, undefined, 'GENERAL', `environment '${environment}' is unknown`);
      // A re-fetch triggered by a notification from a replica ahead of this one: wait (bounded) to
      // catch up; past the bound, answer what is held, marked STALE, rather than an error.
      let behind = false;
      if (wanted.want && deps.eventStreams) behind = !(await deps.eventStreams.freshness.waitFor(environment, wanted.want, FRESHNESS_WAIT_MS));
      const now = Date.now();
      const all = snapshot.sortedFlags(environment);
      const results = evaluateMany(all, environment, context.context, now, hit);
      const items: string[] = new Array(all.length);
      for (let i = 0; i < all.length; i++) items[i] = bulkItem(all[i]!, behind ? asStale(results[i]!) : results[i]!);
      if (deps.telemetry) deps.telemetry.bulkEvaluation(environment, all.map((flag, i) => recordOf(flag, environment, results[i]!)));
      return withEtagBody(req, `{"flags":[${items.join(',')}]${eventStreamsOf(principal, environment)}}`);
    },

    /** `POST /api/v1/evaluate` `{context, flags?}`: every (or the named) flag with value, variant and reason. */
    async evaluate(req: ServingRequest): Promise<ServingResponse> {
      const admitted = await admit(req, true);
      if ('status' in admitted) return admitted;
      const parsed = parseBody(req.body);
      if ('error' in parsed) return nativeError(400, 'PARSE_ERROR', parsed.error);
      const input = nativeRequestSchema.safeParse(parsed.value);
      if (!input.success) {
        const details = input.error.issues.map((issue) => ({ path: `body.${issue.path.map(String).join('.')}`.replace(/\.$/, ''), message: issue.message }));
        return nativeError(400, 'VALIDATION_FAILED', 'Invalid request body', details);
      }
      const { environment } = admitted;
      const { known, hit } = await environmentLoaded(environment);
      if (!known) return nativeError(404, 'NOT_FOUND', `Environment '${environment}' is unknown`);
      const context = input.data.context as EvaluationContext;
      const now = Date.now();
      const results: unknown[] = [];
      const keys = input.data.flags;
      const flags: Array<CompiledFlag | string> = keys
        ? [...new Set(keys)].map((key) => snapshot.get(environment, key) ?? key)
        : [...snapshot.sortedFlags(environment)];
      const found = flags.filter((flag): flag is CompiledFlag => typeof flag !== 'string');
      const evaluated = evaluateMany(found, environment, context, now, hit);
      if (deps.telemetry) deps.telemetry.bulkEvaluation(environment, found.map((flag, i) => recordOf(flag, environment, evaluated[i]!)));
      let next = 0;
      for (const flag of flags) {
        if (typeof flag === 'string') {
          cacheStats.l1Misses++;
          results.push({ key: flag, value: null, variant: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `flag '${flag}' was not found` });
          continue;
        }
        const result = evaluated[next++]!;
        results.push({
          key: flag.key,
          value: result.value ?? null,
          variant: result.variant,
          reason: result.reason,
          version: flag.version,
          ...(result.ruleId ? { ruleId: result.ruleId } : {}),
          ...(result.errorCode ? { errorCode: result.errorCode, errorMessage: result.errorMessage } : {}),
          ...(result.metadata ? { metadata: result.metadata } : {}),
        });
      }
      return withEtag(req, { environment, flags: results });
    },
  };
}

export type EvaluationEndpoints = ReturnType<typeof createEvaluationEndpoints>;
