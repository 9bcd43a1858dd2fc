import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { MAX_JSON_DEPTH, text } from '../domain/text.js';
import type { Authenticator, Principal } from '../auth/principal.js';
import type { CacheStats } from '../cache/cache-stats.js';
import type { FlagSnapshot } from '../cache/flag-snapshot.js';
import { evaluate, type CompiledFlag, type EvaluationContext, type EvaluationResult } from '../engine/index.js';
import type { Metrics } from '../metrics.js';
import { etagOf, matchesIfNoneMatch } from './etag.js';
import type { FlagMetrics } from './flag-metrics.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import type { RateLimiter } from './rate-limiter.js';
import { bulkItem, bulkPlanOf, OFREP_ERROR_CODES, renderBulk } from './bulk-answer.js';
import type { EvaluationRecord, Telemetry } from '../telemetry/index.js';
import { OFREP_EVENT_STREAM_PATH, parseConfigEtag, parseConfigLastModified, type OfrepFreshness, type OfrepStreamChannels } from './ofrep-event-streams.js';
import { engineContext } from '../protocol/evaluation-api.js';

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
  /** Text, or already UTF-8 (a large bulk answer assembled from pre-encoded runs). */
  body?: string | Buffer;
}

export interface EvaluationEndpointsDeps {
  authenticator: Authenticator;
  snapshot: FlagSnapshot;
  /** Loads an environment L1 doesn't hold from Redis or Postgres; false when it doesn't exist. */
  ensureEnvironment: (environment: string) => Promise<boolean>;
  limiter: RateLimiter;
  /** Each client address's share of a public (client) token's budget; off when absent. */
  perAddressLimiter?: RateLimiter;
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
    /** Told when a re-fetch named a configuration (flagConfigEtag) and was answered with it: the provider holds it. */
    refetched?: (principal: Principal, address: string, environment: string, version: number) => void;
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

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** The headers of a plain JSON answer; the fast path recognises this very object and writes its headers without copying. */
export const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': JSON_CONTENT_TYPE });

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
  headers: headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS,
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

/** Whether a parsed JSON value nests deeper than `limit` levels (no allocation: the hot path runs it on every body). */
function deeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit <= 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (deeperThan(value[i], limit - 1)) return true;
    return false;
  }
  for (const key in value) if (deeperThan((value as Record<string, unknown>)[key], limit - 1)) return true;
  return false;
}

/** Parses a JSON body; an empty body is an empty object. */
function parseBody(body: Buffer | undefined): { value: unknown } | { error: string } {
  if (!body || body.length === 0) return { value: {} };
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'The request body is not valid JSON' };
  }
  if (deeperThan(value, MAX_JSON_DEPTH)) return { error: `The request body is nested deeper than ${MAX_JSON_DEPTH} levels` };
  return { value };
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

/**
 * The body of POST /api/v1/evaluate. The context's attributes are the caller's own names; its
 * targeting key is `targeting_key` (snake_case like the rest of /api/v1), the engine's targetingKey.
 */
export const nativeRequestSchema = z.object({
  context: z
    .object({ targeting_key: text(1024).optional() })
    .catchall(z.unknown())
    .default({})
    .meta({ description: 'targeting_key (what percentages bucket by) and attributes' }),
  flags: z.array(text(256).min(1)).max(1000).optional(),
});

/** What telemetry records of one evaluation. */
function recordOf(flag: CompiledFlag, environment: string, result: EvaluationResult): EvaluationRecord {
  return { key: flag.key, environment, variant: result.variant, reason: result.reason, version: flag.version, errorCode: result.errorCode };
}

/** An answer now, or once a lookup (token, environment) is done: the hot path never makes a promise. */
type Answer<T> = T | Promise<T>;
const then = <T, R>(value: Answer<T>, next: (value: T) => Answer<R>): Answer<R> => (value instanceof Promise ? value.then(next) : next(value));

/** The OFREP and native evaluation endpoints, independent of the HTTP server that carries them. */
export function createEvaluationEndpoints(deps: EvaluationEndpointsDeps) {
  const { snapshot, cacheStats, flagMetrics } = deps;
  const perAddress = deps.perAddressLimiter;

  // Staleness is asked on every request; it only changes over seconds, so once per millisecond is enough.
  let staleAt = -1;
  let staleNow = false;
  const isStale = (now: number): boolean => {
    if (!deps.isStale) return false;
    if (now !== staleAt) {
      staleAt = now;
      staleNow = deps.isStale();
    }
    return staleNow;
  };

  const tooManyFailures = (native: boolean, blockedFor: number): ServingResponse => {
    const headers = { 'retry-after': String(blockedFor) };
    return native
      ? nativeError(429, 'RATE_LIMITED', `Too many failed authentications from this address; retry after ${blockedFor} s`, undefined, headers)
      : { status: 429, headers };
  };
  const rateLimited = (native: boolean, environment: string, retryAfterSeconds: number, message: string): ServingResponse => {
    deps.metrics.rateLimited.inc({ environment });
    const headers = { 'retry-after': String(retryAfterSeconds) };
    return native ? nativeError(429, 'RATE_LIMITED', `${message}; retry after ${retryAfterSeconds} s`, undefined, headers) : { status: 429, headers };
  };

  /**
   * Authenticates, fixes the environment and spends rate budget; a response when the caller may not
   * go on. A token resolved moments ago is answered from memory, synchronously.
   */
  function admit(req: ServingRequest, native: boolean): Answer<Caller | ServingResponse> {
    const token = tokenFromHeaders((name) => req.header(name));
    const known = token ? deps.authenticator.cached?.(token) : undefined;
    if (known) return callerOf(req, known, native);
    return lookUp(req, token, native);
  }

  async function lookUp(req: ServingRequest, token: string | null, native: boolean): Promise<Caller | ServingResponse> {
    const blockedFor = deps.authFailures?.retryAfterFor(req.address, token, deps.authenticator) ?? 0;
    if (blockedFor > 0) return tooManyFailures(native, blockedFor);
    let principal: Principal | null;
    try {
      principal = token ? await deps.authenticator.authenticate(token) : null;
    } catch {
      return native
        ? nativeError(503, 'UNAVAILABLE', 'The token store is unavailable and this token is not known to this replica yet; retry shortly')
        : json(503, { errorDetails: 'The token store is unavailable; retry shortly' });
    }
    // OFREP answers 401/403 without a body; the native API uses the error family.
    if (!principal) {
      deps.authFailures?.fail(req.address);
      return native ? nativeError(401, 'UNAUTHORIZED', 'A valid API token is required (Authorization: Bearer <token>)') : { status: 401 };
    }
    return callerOf(req, principal, native);
  }

  function callerOf(req: ServingRequest, principal: Principal, native: boolean): Caller | ServingResponse {
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
    if (!deps.limiter.enabled) return { principal, environment };
    // One clock read for both limiters: at saturation the limiting is a few percent of a request's cost.
    const now = Date.now();
    // A public (client) token is shared by every browser of a site: each address gets a fair share of
    // its budget, and what an address is refused is not taken from the token's budget.
    if (principal.kind === 'client' && perAddress?.enabled) {
      const share = perAddress.takePair(caller, req.address, now);
      if (!share.allowed) return rateLimited(native, environment, share.retryAfterSeconds, 'Too many requests for this token from this address');
    }
    const decision = deps.limiter.take(caller, now);
    if (!decision.allowed) return rateLimited(native, environment, decision.retryAfterSeconds, 'Too many requests for this token');
    return { principal, environment };
  }

  /** L1 lookup of an environment: true (a cache hit) at once; on a miss, L2/L3 load it once. */
  function environmentLoaded(environment: string): Answer<{ known: boolean; hit: boolean }> {
    if (snapshot.hasEnvironment(environment)) return HIT;
    cacheStats.l1Misses++;
    return deps.ensureEnvironment(environment).then((known) => ({ known, hit: false }));
  }

  /** Evaluates many flags; the engine time is measured once for the batch and shared out. */
  function evaluateMany(flags: readonly CompiledFlag[], environment: string, context: EvaluationContext, now: number, hit: boolean, stale: boolean): EvaluationResult[] {
    const started = performance.now();
    const results: EvaluationResult[] = new Array(flags.length);
    for (let i = 0; i < flags.length; i++) results[i] = evaluate(flags[i]!, context, now);
    const each = (performance.now() - started) / Math.max(1, flags.length);
    if (stale) for (let i = 0; i < results.length; i++) results[i] = asStale(results[i]!);
    cacheStats.l1Hits += flags.length;
    for (let i = 0; i < flags.length; i++) flagMetrics.record(environment, flags[i]!, results[i]!, each, now, hit);
    return results;
  }

  function withEtagBody(req: ServingRequest, body: string | Buffer, etag = etagOf(body)): ServingResponse {
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

  function ofrepFlagFor(key: string, req: ServingRequest, admitted: Caller | ServingResponse): Answer<ServingResponse> {
    if ('status' in admitted) return admitted;
    const parsed = parseBody(req.body);
    if ('error' in parsed) return ofrepError(400, key, 'PARSE_ERROR', parsed.error);
    const context = ofrepContext(parsed.value);
    if ('error' in context) return ofrepError(400, key, 'INVALID_CONTEXT', context.error);
    const { environment } = admitted;
    return then(environmentLoaded(environment), ({ hit }) => ofrepAnswer(key, environment, context.context, hit));
  }

  function ofrepAnswer(key: string, environment: string, context: EvaluationContext, hit: boolean): ServingResponse {
    const flag = snapshot.get(environment, key);
    if (!flag) {
      cacheStats.l1Misses++;
      return ofrepError(404, key, 'FLAG_NOT_FOUND', `flag '${key}' was not found in environment '${environment}'`);
    }
    const now = Date.now();
    const started = performance.now();
    let result = evaluate(flag, context, now);
    const elapsedMs = performance.now() - started;
    if (isStale(now)) result = asStale(result);
    cacheStats.l1Hits++;
    flagMetrics.record(environment, flag, result, elapsedMs, now, hit);
    deps.metrics.evaluationDuration.observe(elapsedMs / 1000);
    deps.telemetry?.evaluation(recordOf(flag, environment, result));
    if (result.reason === 'ERROR') {
      const code = result.errorCode && OFREP_ERROR_CODES.has(result.errorCode) ? result.errorCode : 'GENERAL';
      return ofrepError(400, key, code, result.errorMessage ?? 'evaluation failed');
    }
    // The same JSON as the flag's item of a bulk answer, kept per flag and result: no stringify per request.
    return { status: 200, headers: JSON_HEADERS, body: bulkItem(flag, result) };
  }

  function ofrepBulkFor(req: ServingRequest, admitted: Caller | ServingResponse): Answer<ServingResponse> {
    if ('status' in admitted) return admitted;
    const parsed = parseBody(req.body);
    if ('error' in parsed) return ofrepError(400, undefined, 'PARSE_ERROR', parsed.error);
    const context = ofrepContext(parsed.value);
    if ('error' in context) return ofrepError(400, undefined, 'INVALID_CONTEXT', context.error);
    const wanted = configWanted(req);
    if ('error' in wanted) return ofrepError(400, undefined, 'PARSE_ERROR', wanted.error);
    const { environment, principal } = admitted;
    return then(environmentLoaded(environment), ({ known, hit }) => {
      if (!known) return ofrepError(400, undefined, 'GENERAL', `environment '${environment}' is unknown`);
      // A re-fetch triggered by a notification from a replica ahead of this one: wait (bounded) to
      // catch up; past the bound, answer what is held, marked STALE, rather than an error.
      if (wanted.want && deps.eventStreams) {
        const { freshness, refetched } = deps.eventStreams;
        return freshness.waitFor(environment, wanted.want, FRESHNESS_WAIT_MS).then((caughtUp) => {
          if (caughtUp && wanted.want?.version !== undefined) refetched?.(principal, req.address, environment, wanted.want.version);
          return ofrepBulkAnswer(req, principal, environment, context.context, hit, !caughtUp);
        });
      }
      return ofrepBulkAnswer(req, principal, environment, context.context, hit, false);
    });
  }

  function ofrepBulkAnswer(req: ServingRequest, principal: Principal, environment: string, context: EvaluationContext, hit: boolean, behind: boolean): ServingResponse {
    const now = Date.now();
    const all = snapshot.sortedFlags(environment);
    const tail = `${eventStreamsOf(principal, environment)}}`;
    const stale = isStale(now);
    if (stale || behind) {
      // Rare (a replica that can't vouch for its snapshot): every flag evaluated and marked, no pre-rendered JSON.
      const results = evaluateMany(all, environment, context, now, hit, stale);
      const items = all.map((flag, i) => bulkItem(flag, asStale(results[i]!)));
      if (deps.telemetry) deps.telemetry.bulkEvaluation(environment, all.map((flag, i) => recordOf(flag, environment, results[i]!)));
      return withEtagBody(req, `{"flags":[${items.join(',')}]${tail}`);
    }
    // Flags that answer everyone the same are pre-rendered; only the others are evaluated, and the
    // pre-rendered ones are counted once for the request.
    const plan = bulkPlanOf(environment, all);
    const results = evaluateMany(plan.dynamic, environment, context, now, hit, false);
    const items: string[] = new Array(results.length);
    for (let i = 0; i < results.length; i++) items[i] = bulkItem(plan.dynamic[i]!, results[i]!);
    if (plan.constants.flags.length > 0) {
      cacheStats.l1Hits += plan.constants.flags.length;
      flagMetrics.recordConstants(plan.constants, now, hit);
    }
    if (deps.telemetry) {
      const records = plan.dynamic.map((flag, i) => recordOf(flag, environment, results[i]!));
      for (const flag of plan.constant) records.push(recordOf(flag, environment, flag.constant!));
      deps.telemetry.bulkEvaluation(environment, records);
    }
    const { body, etag } = renderBulk(plan, items, tail);
    return withEtagBody(req, body, etag);
  }

  function nativeFor(req: ServingRequest, admitted: Caller | ServingResponse): Answer<ServingResponse> {
    if ('status' in admitted) return admitted;
    const parsed = parseBody(req.body);
    if ('error' in parsed) return nativeError(400, 'PARSE_ERROR', parsed.error);
    const input = nativeRequestSchema.safeParse(parsed.value);
    if (!input.success) {
      const details = input.error.issues.map((issue) => ({ path: `body.${issue.path.map(String).join('.')}`.replace(/\.$/, ''), message: issue.message }));
      return nativeError(400, 'VALIDATION_FAILED', 'Invalid request body', details);
    }
    const { environment } = admitted;
    return then(environmentLoaded(environment), ({ known, hit }) => {
      if (!known) return nativeError(404, 'NOT_FOUND', `Environment '${environment}' is unknown`);
      const context = engineContext(input.data.context);
      const now = Date.now();
      const results: unknown[] = [];
      const keys = input.data.flags;
      const flags: Array<CompiledFlag | string> = keys
        ? [...new Set(keys)].map((key) => snapshot.get(environment, key) ?? key)
        : [...snapshot.sortedFlags(environment)];
      const found = flags.filter((flag): flag is CompiledFlag => typeof flag !== 'string');
      const evaluated = evaluateMany(found, environment, context, now, hit, isStale(now));
      if (deps.telemetry) deps.telemetry.bulkEvaluation(environment, found.map((flag, i) => recordOf(flag, environment, evaluated[i]!)));
      let next = 0;
      for (const flag of flags) {
        if (typeof flag === 'string') {
          cacheStats.l1Misses++;
          results.push({ key: flag, value: null, variant: null, reason: 'ERROR', error_code: 'FLAG_NOT_FOUND', error_message: `flag '${flag}' was not found` });
          continue;
        }
        const result = evaluated[next++]!;
        results.push({
          key: flag.key,
          value: result.value ?? null,
          variant: result.variant,
          reason: result.reason,
          version: flag.version,
          ...(result.ruleId ? { rule_id: result.ruleId } : {}),
          ...(result.errorCode ? { error_code: result.errorCode, error_message: result.errorMessage } : {}),
          ...(result.metadata ? { metadata: result.metadata } : {}),
        });
      }
      return withEtagBody(req, JSON.stringify({ environment, flags: results }));
    });
  }

  return {
    /** `POST /ofrep/v1/evaluate/flags/{key}` */
    ofrepFlag: (key: string, req: ServingRequest): Answer<ServingResponse> => then(admit(req, false), (admitted) => ofrepFlagFor(key, req, admitted)),
    /** `POST /ofrep/v1/evaluate/flags` */
    ofrepBulk: (req: ServingRequest): Answer<ServingResponse> => then(admit(req, false), (admitted) => ofrepBulkFor(req, admitted)),
    /** `POST /api/v1/evaluate` `{context, flags?}`: every (or the named) flag with value, variant and reason. */
    evaluate: (req: ServingRequest): Answer<ServingResponse> => then(admit(req, true), (admitted) => nativeFor(req, admitted)),
  };
}

const HIT = { known: true, hit: true } as const;

export type EvaluationEndpoints = ReturnType<typeof createEvaluationEndpoints>;
