import { Router } from 'express';
import { z } from 'zod';
import type { KillSwitchOutcome, KillSwitchService } from '../../src/services/kill-switch-service.js';
import { requireUser } from '../auth.js';
import { parseInput } from '../validation.js';
import { flagEnvParams, requestMeta } from './flags.js';

const activateBody = z.strictObject({ reason: z.string().trim().min(1, 'a reason is required').max(500) });
const deactivateBody = z.strictObject({ reason: z.string().trim().max(500).optional() }).optional();
const idempotencyKey = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, . _ - (at most 100)').optional();

const KILLERS = ['admin', 'emergency_responder'] as const;

function present(outcome: KillSwitchOutcome) {
  const { definition } = outcome;
  return {
    flag: definition.key,
    environment: definition.environment,
    version: definition.version,
    kill_switch: definition.config.kill_switch,
    changed: outcome.changed,
    already_active: outcome.alreadyActive,
    projected: outcome.projected,
    workflow: outcome.workflow,
  };
}

/** POST activates the kill switch, DELETE releases it; both need admin or emergency_responder. */
export function createKillSwitchRouter(service: KillSwitchService): Router {
  const router = Router();
  const path = '/flags/:key/environments/:env/kill-switch';

  router.post(path, async (req, res) => {
    const actor = requireUser(res, KILLERS);
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const { reason } = parseInput(activateBody, req.body, 'body');
    const requestId = parseInput(idempotencyKey, req.get('idempotency-key'), 'headers');
    const outcome = await service.activate({ flagKey: key, environment: env, reason, requestId, ...requestMeta(req, actor) });
    res.status(outcome.changed ? 201 : 200).json(present(outcome));
  });

  router.delete(path, async (req, res) => {
    const actor = requireUser(res, KILLERS);
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const body = parseInput(deactivateBody, req.body, 'body');
    const requestId = parseInput(idempotencyKey, req.get('idempotency-key'), 'headers');
    const outcome = await service.deactivate({
      flagKey: key, environment: env, reason: body?.reason ?? 'kill switch released', requestId, ...requestMeta(req, actor),
    });
    res.json(present(outcome));
  });

  return router;
}
