import { Router } from 'express';
import { z } from 'zod';
import type { FlagSnapshot } from '../../src/cache/flag-snapshot.js';
import { ForbiddenError, NotFoundError } from '../../src/errors.js';
import type { FlagMetrics } from '../../src/serving/flag-metrics.js';
import { flagMetricsHistorySchema, metricsWindowSchema, type FlagMetricsHistory } from '../../src/protocol/admin-api.js';
import type { FlagMetricsHistoryService } from '../../src/flag-metrics/flag-metrics-history.js';
import { authorize, principalOf } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { environmentKeySchema, flagKeySchema } from '../schemas.js';
import { parseInput } from '../validation.js';

const querySchema = z.strictObject({ environment: environmentKeySchema.optional() });
const historyQuery = z.strictObject({ environment: environmentKeySchema.optional(), window: metricsWindowSchema.default('hour') });
const keyParams = z.object({ key: flagKeySchema });

/**
 * `GET /api/v1/flags/{key}/metrics[?environment=]`: the flag's metrics summed over every
 * replica (batches flushed to Redis each second, plus this process's unflushed counts), with a
 * per-environment breakdown. Users and server tokens may read it; client tokens may only evaluate.
 */
export function createFlagMetricsRouter(deps: { flagMetrics: FlagMetrics; snapshot: FlagSnapshot; history: FlagMetricsHistoryService }): Router {
  const router = Router();

  defineRoute(router, '/api/v1', {
    method: 'get', path: '/api/v1/flags/{key}/metrics/history', tag: 'Serving',
    summary: 'Evaluations over the last hour or day per environment and variant (per-minute rollups kept two days), last evaluation, guard outcome rates',
    auth: 'users with flag:read, server tokens (their environment)', params: keyParams, query: historyQuery,
    responses: { 200: { description: 'bucketed series', schema: flagMetricsHistorySchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { key } = parseInput(keyParams, req.params, 'params');
    const { environment, window } = parseInput(historyQuery, req.query, 'query');
    const principal = principalOf(res);
    if (principal.kind === 'client') throw new ForbiddenError('A client token may only evaluate flags');
    if (principal.kind === 'user') authorize(res, { resource: 'flag', action: 'read', environment });
    let environments = deps.snapshot.environmentKeys();
    if (principal.kind === 'server') environments = [principal.environment];
    if (environment) environments = environments.filter((env) => env === environment);
    if (!environments.some((env) => deps.snapshot.get(env, key))) {
      if (environment) throw new NotFoundError(`Flag '${key}' was not found in environment '${environment}'`);
      throw await deps.history.unknownFlag(key);
    }
    res.json((await deps.history.history(key, environments, window)) satisfies FlagMetricsHistory);
  });

  defineRoute(router, '/api/v1', {
    method: 'get', path: '/api/v1/flags/{key}/metrics', tag: 'Flags', summary: 'Per-flag evaluation metrics summed over every replica',
    auth: 'any user or server token', params: keyParams, query: querySchema,
    responses: { 200: { description: 'counts, latency, cache hit rate, last evaluation' } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const principal = principalOf(res);
    if (principal.kind === 'client') throw new ForbiddenError('A client token may only evaluate flags');
    const { key } = parseInput(keyParams, req.params, 'params');
    const { environment } = parseInput(querySchema, req.query, 'query');
    let environments = deps.snapshot.environmentKeys();
    if (principal.kind === 'server') environments = [principal.environment];
    if (environment) environments = environments.filter((env) => env === environment);
    if (!environments.some((env) => deps.snapshot.get(env, key))) {
      throw new NotFoundError(`Flag '${key}' was not found${environment ? ` in environment '${environment}'` : ''}`);
    }
    const { metrics, byEnvironment, shared } = await deps.flagMetrics.read(key, environments);
    res.json({ ...metrics, ...(environment ? { environment } : {}), environments: byEnvironment, scope: shared ? 'all-replicas' : 'this-replica' });
  });
  return router;
}
