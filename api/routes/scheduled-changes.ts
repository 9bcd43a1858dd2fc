import { Router, type Request } from 'express';
import { z } from 'zod';
import type { ScheduledChangeService } from '../../src/services/scheduled-change-service.js';
import { authorizeFlag, authorizeFlagUser, type FlagTags } from '../auth.js';
import { parseInput } from '../validation.js';
import { flagEnvParams } from './flags.js';

const origin = (req: Request) => ({ ipAddress: req.ip ?? null, userAgent: req.get('user-agent') ?? null });
const changeParams = flagEnvParams.extend({ id: z.uuid() });

/** Config changes that apply at a set time: schedule, list, cancel. */
export function createScheduledChangesRouter(service: ScheduledChangeService, flags: FlagTags): Router {
  const router = Router();
  const base = '/flags/:key/environments/:env/scheduled-changes';

  router.post(base, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const actor = await authorizeFlagUser(res, flags, key, env, 'write');
    res.status(201).json(await service.schedule(key, env, req.body ?? {}, actor, origin(req)));
  });

  router.get(base, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    await authorizeFlag(res, flags, key, env, 'read');
    res.json(await service.list(key, env));
  });

  router.delete(`${base}/:id`, async (req, res) => {
    const { key, env, id } = parseInput(changeParams, req.params, 'params');
    const actor = await authorizeFlagUser(res, flags, key, env, 'write');
    res.json(await service.cancel(key, env, id, actor, origin(req)));
  });

  return router;
}
