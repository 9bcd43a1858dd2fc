import { Router } from 'express';
import { z } from 'zod';
import type { KillConfirmationService } from '../../src/services/kill-confirmation-service.js';
import type { KillSwitchOutcome, KillSwitchService } from '../../src/services/kill-switch-service.js';
import { authorizeFlagUser, metaOf, type FlagTags } from '../auth.js';
import { parseInput } from '../validation.js';
import { flagEnvParams } from './flags.js';

const activateBody = z.strictObject({ reason: z.string().trim().min(1, 'a reason is required').max(500) });
const deactivateBody = z.strictObject({ reason: z.string().trim().max(500).optional() }).optional();
const idempotencyKey = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, . _ - (at most 100)').optional();

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

export { killSwitchStateSchema } from '../../src/protocol/admin-api.js';

/**
 * GET reads the kill switch and which replicas confirm it; POST activates it, DELETE releases it
 * (those need admin, emergency_responder or a kill_switch grant).
 */
export function createKillSwitchRouter(service: KillSwitchService, flags?: FlagTags, confirmations?: KillConfirmationService): Router {
  const router = Router();
  // A kill_switch grant may be limited to flag tags; an unknown flag is checked without tags (then 404s).
  const authorizeKill = (res: Parameters<typeof authorizeFlagUser>[0], key: string, environment: string) =>
    authorizeFlagUser(res, flags, key, environment, 'kill_switch');
  const path = '/flags/:key/environments/:env/kill-switch';

  if (confirmations) {
    router.get(path, async (req, res) => {
      const { key, env } = parseInput(flagEnvParams, req.params, 'params');
      await authorizeFlagUser(res, flags, key, env, 'read');
      res.json(await confirmations.state(key, env));
    });
  }

  router.post(path, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const actor = await authorizeKill(res, key, env);
    const { reason } = parseInput(activateBody, req.body, 'body');
    const requestId = parseInput(idempotencyKey, req.get('idempotency-key'), 'headers');
    const { ipAddress, userAgent } = metaOf(req, res, actor);
    const outcome = await service.activate({ actor, ipAddress, userAgent, flagKey: key, environment: env, reason, requestId });
    res.status(outcome.changed ? 201 : 200).json(present(outcome));
  });

  router.delete(path, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const actor = await authorizeKill(res, key, env);
    const body = parseInput(deactivateBody, req.body, 'body');
    const requestId = parseInput(idempotencyKey, req.get('idempotency-key'), 'headers');
    const { ipAddress, userAgent } = metaOf(req, res, actor);
    const outcome = await service.deactivate({
      actor, ipAddress, userAgent, flagKey: key, environment: env, reason: body?.reason ?? 'kill switch released', requestId,
    });
    res.json(present(outcome));
  });

  return router;
}
