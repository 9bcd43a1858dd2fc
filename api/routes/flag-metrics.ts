import { Router } from 'express';
import { z } from 'zod';
import type { FlagSnapshot } from '../../src/cache/flag-snapshot.js';
import { ForbiddenError, NotFoundError } from '../../src/errors.js';
import type { FlagMetrics } from '../../src/serving/flag-metrics.js';
import { principalOf } from '../auth.js';
import { parseInput } from '../validation.js';
import { environmentKeySchema } from '../schemas.js';

const querySchema = z.object({ environment: environmentKeySchema.optional() });

/**
 * `GET /api/v1/flags/{key}/metrics[?environment=]`: the seed's FlagMetrics summed over every
 * replica (batches flushed to Redis each second, plus this process's unflushed counts), with a
 * per-environment breakdown. Users and server tokens may read it; client tokens may only evaluate.
 */
export function createFlagMetricsRouter(deps: { flagMetrics: FlagMetrics; snapshot: FlagSnapshot }): Router {
  const router = Router();
  router.get('/flags/:key/metrics', async (req, res) => {
    const principal = principalOf(res);
    if (principal.kind === 'client') throw new ForbiddenError('A client token may only evaluate flags');
    const key = req.params.key;
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
