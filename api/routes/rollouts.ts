import { Router } from 'express';
import { z } from 'zod';
import type { RolloutService } from '../../src/services/rollout-service.js';
import { authorize, authorizeUser } from '../auth.js';
import type { FlagService } from '../../src/services/flag-service.js';
import { parseInput } from '../validation.js';
import { flagEnvParams } from './flags.js';
import { documentWorkflowRoutes } from './workflow-route-docs.js';


const actionParams = flagEnvParams.extend({ action: z.enum(['pause', 'resume', 'abort', 'skip', 'approve']) });
const actionBodies = {
  pause: z.strictObject({ reason: z.string().trim().min(1).max(500).optional() }),
  resume: z.strictObject({}),
  abort: z.strictObject({ rollback: z.boolean(), reason: z.string().trim().min(1).max(500).optional() }),
  skip: z.strictObject({}),
  approve: z.strictObject({}),
} as const;

/** Rollouts of a flag in one environment: start, list with live progress, and steer the running one. */
export function createRolloutsRouter(service: RolloutService, flags: Pick<FlagService, 'tagsOf'>): Router {
  documentWorkflowRoutes();
  const router = Router();
  // Starting and steering a rollout changes the flag in that environment: flag write, tag-scoped grants apply.
  const authorizeWrite = async (res: Parameters<typeof authorizeUser>[0], key: string, environment: string) =>
    authorizeUser(res, { resource: 'flag', action: 'write', environment, tags: await flags.tagsOf(key) });
  const base = '/flags/:key/environments/:env/rollouts';

  router.post(base, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const actor = await authorizeWrite(res, key, env);
    parseInput(z.object({ plan: z.unknown() }), req.body ?? {}, 'body');
    res.status(201).json(await service.start(key, env, req.body, actor));
  });

  router.get(base, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    authorize(res, { resource: 'flag', action: 'read', environment: env, tags: await flags.tagsOf(key) });
    res.json(await service.list(key, env));
  });

  router.post(`${base}/current/:action`, async (req, res) => {
    const { key, env, action } = parseInput(actionParams, req.params, 'params');
    const actor = await authorizeWrite(res, key, env);
    const args = parseInput(actionBodies[action], req.body ?? {}, 'body');
    res.json(await service.steer(key, env, action, args, actor));
  });

  return router;
}
