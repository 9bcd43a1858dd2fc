import { Router, type Request } from 'express';
import { z } from 'zod';
import type { RolloutService } from '../../src/services/rollout-service.js';
import { authorizeFlag, authorizeFlagUser, type FlagTags } from '../auth.js';
import { parseInput } from '../validation.js';
import { flagEnvParams } from './flags.js';
import { documentWorkflowRoutes } from './workflow-route-docs.js';


const origin = (req: Request) => ({ ipAddress: req.ip ?? null, userAgent: req.get('user-agent') ?? null });

const actionParams = flagEnvParams.extend({ action: z.enum(['pause', 'resume', 'abort', 'skip', 'approve']) });
const actionBodies = {
  pause: z.strictObject({ reason: z.string().trim().min(1).max(500).optional() }),
  resume: z.strictObject({}),
  abort: z.strictObject({ rollback: z.boolean(), reason: z.string().trim().min(1).max(500).optional() }),
  skip: z.strictObject({}),
  approve: z.strictObject({}),
} as const;

/** Rollouts of a flag in one environment: start, list with live progress, and steer the running one. */
export function createRolloutsRouter(service: RolloutService, flags: FlagTags): Router {
  documentWorkflowRoutes();
  const router = Router();
  const base = '/flags/:key/environments/:env/rollouts';

  router.post(base, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const actor = await authorizeFlagUser(res, flags, key, env, 'write');
    parseInput(z.object({ plan: z.unknown() }), req.body ?? {}, 'body');
    res.status(201).json(await service.start(key, env, req.body, actor, origin(req)));
  });

  router.get(base, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    await authorizeFlag(res, flags, key, env, 'read');
    res.json(await service.list(key, env));
  });

  router.post(`${base}/current/:action`, async (req, res) => {
    const { key, env, action } = parseInput(actionParams, req.params, 'params');
    const actor = await authorizeFlagUser(res, flags, key, env, 'write');
    const args = parseInput(actionBodies[action], req.body ?? {}, 'body');
    res.json(await service.steer(key, env, action, args, actor, origin(req)));
  });

  return router;
}
