import { Router } from 'express';
import { z } from 'zod';
import type { ScheduledChangeService } from '../../src/services/scheduled-change-service.js';
import { requireUser } from '../auth.js';
import { parseInput } from '../validation.js';
import { flagEnvParams } from './flags.js';

const WRITERS = ['editor', 'admin'] as const;
const READERS = ['viewer', 'editor', 'admin', 'emergency_responder'] as const;
const changeParams = flagEnvParams.extend({ id: z.uuid() });

/** Config changes that apply at a set time: schedule, list, cancel. */
export function createScheduledChangesRouter(service: ScheduledChangeService): Router {
  const router = Router();
  const base = '/flags/:key/environments/:env/scheduled-changes';

  router.post(base, async (req, res) => {
    const actor = requireUser(res, WRITERS);
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    res.status(201).json(await service.schedule(key, env, req.body ?? {}, actor));
  });

  router.get(base, async (req, res) => {
    requireUser(res, READERS);
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    res.json(await service.list(key, env));
  });

  router.delete(`${base}/:id`, async (req, res) => {
    requireUser(res, WRITERS);
    const { key, env, id } = parseInput(changeParams, req.params, 'params');
    res.json(await service.cancel(key, env, id));
  });

  return router;
}
