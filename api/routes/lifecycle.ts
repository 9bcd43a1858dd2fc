import { Router } from 'express';
import { readyToRemoveSchema, type ReadyToRemove } from '../../src/protocol/admin-api.js';
import type { LifecycleService } from '../../src/lifecycle/lifecycle-service.js';
import { authorizeUser } from '../auth.js';
import { defineRoute } from '../route-docs.js';

const MOUNT = '/api/v1';

/** Flag lifecycle: the "ready to remove" list (each flag's stage is also in GET /flags and /flags/{key}). */
export function createLifecycleRouter(lifecycle: LifecycleService): Router {
  const router = Router();
  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/lifecycle/ready-to-remove', tag: 'Flags', auth: 'users with flag:read',
    summary: 'Flags ready to remove: launched or stale, with their last evaluation per environment, the value they serve and their code references',
    responses: { 200: { description: 'stale flags first, then launched ones, by key', schema: readyToRemoveSchema } },
    errors: [401, 403],
  }, async (_req, res) => {
    authorizeUser(res, { resource: 'flag', action: 'read' });
    const { thresholds } = lifecycle;
    res.json({
      flags: await lifecycle.readyToRemove(),
      thresholds: {
        new_days: thresholds.newDays, launched_days: thresholds.launchedDays, stale_launched_days: thresholds.staleLaunchedDays,
        unused_days: thresholds.unusedDays, production_environment: thresholds.productionEnvironment,
      },
    } satisfies ReadyToRemove);
  });
  return router;
}
