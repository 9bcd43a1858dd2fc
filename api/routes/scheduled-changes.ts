import { Router } from 'express';
import { z } from 'zod';
import type { ScheduledChangeService } from '../../src/services/scheduled-change-service.js';
import { authorize, authorizeUser } from '../auth.js';
import type { FlagService } from '../../src/services/flag-service.js';
import { parseInput } from '../validation.js';
import { flagEnvParams } from './flags.js';

const changeParams = flagEnvParams.extend({ id: z.uuid() });

/** Config changes that apply at a set time: schedule, list, cancel. */
export function createScheduledChangesRouter(service: ScheduledChangeService, flags: Pick<FlagService, 'tagsOf'>): Router {
  const router = Router();
  const authorizeWrite = async (res: Parameters<typeof authorizeUser>[0], key: string, environment: string) =>
    authorizeUser(res, { resource: 'flag', action: 'write', environment, tags: await flags.tagsOf(key) });
  const base = '/flags/:key/environments/:env/scheduled-changes';

  router.post(base, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const actor = await authorizeWrite(res, key, env);
    res.status(201).json(await service.schedule(key, env, req.body ?? {}, actor));
  });

  router.get(base, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    authorize(res, { resource: 'flag', action: 'read', environment: env, tags: await flags.tagsOf(key) });
    res.json(await service.list(key, env));
  });

  router.delete(`${base}/:id`, async (req, res) => {
    const { key, env, id } = parseInput(changeParams, req.params, 'params');
    await authorizeWrite(res, key, env);
    res.json(await service.cancel(key, env, id));
  });

  return router;
}
