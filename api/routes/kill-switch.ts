import { Router } from 'express';
import { z } from 'zod';
import type { KillConfirmationService } from '../../src/kill-switch/kill-confirmation-service.js';
import type { KillSwitchOutcome } from '../../src/kill-switch/kill-switch-service.js';
import type { KillSwitchCommands } from '../../src/kill-switch/kill-switch-commands.js';
import { authorizeFlagUser, callerOf, type FlagTags } from '../auth.js';
import { changeRequestCreatedSchema } from '../../src/change-requests/change-request-schemas.js';
import { BYPASS_HEADER, bypassOf } from './change-requests.js';
import { parseInput } from '../validation.js';
import { defineRoute } from '../route-docs.js';
import { reasonSchema, requiredReasonSchema, textMatching } from '../schemas.js';
import { flagEnvParams } from './flags.js';

const MOUNT = '/api/v1';
const activateBody = z.strictObject({ reason: requiredReasonSchema });
const deactivateBody = z.strictObject({ reason: reasonSchema.optional() }).optional();
const idempotencyKey = textMatching(100, /^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, . _ - (at most 100)');
const idempotencyHeaders = z.object({ 'idempotency-key': idempotencyKey.optional() });

const AUTH = 'admin, emergency_responder, or a flag:kill_switch grant for the environment and tags';
const IDEMPOTENCY_HEADER = { name: 'Idempotency-Key', description: 'letters, digits, . _ - (at most 100): makes a retried request one change', schema: idempotencyKey };

function present(outcome: KillSwitchOutcome): z.infer<typeof killOutcomeSchema> {
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

import { killOutcomeSchema, killSwitchStateSchema, type KillSwitchState } from '../../src/protocol/admin-api.js';

export { killSwitchStateSchema };

/**
 * GET reads the kill switch and which replicas confirm it; POST activates it, DELETE releases it
 * (those need admin, emergency_responder or a kill_switch grant, which the commands check).
 */
export function createKillSwitchRouter(commands: KillSwitchCommands, flags?: FlagTags, confirmations?: KillConfirmationService): Router {
  const router = Router();
  const path = '/api/v1/flags/{key}/environments/{env}/kill-switch';

  if (confirmations) {
    defineRoute(router, MOUNT, {
      method: 'get', path, tag: 'Kill switch',
      summary: 'The kill switch, its last kill or release, and which live replicas acknowledge serving it ("confirmed on 3/3 replicas in 12 ms", or the laggards)',
      auth: 'users with flag:read', params: flagEnvParams,
      responses: { 200: { description: 'the kill switch with its confirmation', schema: killSwitchStateSchema } }, errors: [400, 401, 403, 404],
    }, async (req, res) => {
      const { key, env } = parseInput(flagEnvParams, req.params, 'params');
      await authorizeFlagUser(res, flags, key, env, 'read');
      res.json((await confirmations.state(key, env)) satisfies KillSwitchState);
    });
  }

  defineRoute(router, MOUNT, {
    method: 'post', path, tag: 'Kill switch', summary: 'Pull the kill switch: the flag serves its off value at once', auth: AUTH,
    params: flagEnvParams, body: activateBody, headers: [IDEMPOTENCY_HEADER],
    responses: { 201: { description: 'killed (the flag serves its off value); the workflow carries the rest: `workflow.status` is `starting`, its start recorded with the kill', schema: killOutcomeSchema }, 200: { description: 'already killed, or a retry', schema: killOutcomeSchema } },
    errors: [400, 401, 403, 404, 409, 413, 415],
  }, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const { reason } = parseInput(activateBody, req.body, 'body');
    const requestId = parseInput(idempotencyHeaders, { 'idempotency-key': req.get('idempotency-key') }, 'headers')['idempotency-key'];
    // Answered once the kill is live (disabled, projected, broadcast): the workflow's start is in the
    // kill's own transaction (the outbox), so it happens even if this process dies after answering.
    const outcome = await commands.pull(callerOf(req, res), { flagKey: key, environment: env, reason, requestId }, { awaitWorkflow: false });
    res.status(outcome.changed ? 201 : 200).json(present(outcome));
  });

  defineRoute(router, MOUNT, {
    method: 'delete', path, tag: 'Kill switch', summary: 'Release the kill switch (a change request when the policy says restores need approval)', auth: AUTH,
    params: flagEnvParams, body: deactivateBody, headers: [IDEMPOTENCY_HEADER, BYPASS_HEADER],
    responses: {
      200: { description: 'released', schema: killOutcomeSchema },
      202: { description: "the environment's change policy requires approval to release a kill switch: a change request was made", schema: changeRequestCreatedSchema },
    },
    errors: [400, 401, 403, 404, 409],
  }, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const body = parseInput(deactivateBody, req.body, 'body');
    const requestId = parseInput(idempotencyHeaders, { 'idempotency-key': req.get('idempotency-key') }, 'headers')['idempotency-key'];
    const released = await commands.release(callerOf(req, res, { reason: body?.reason, bypass: bypassOf(req) }), { flagKey: key, environment: env, requestId });
    if (released.kind === 'requested') res.status(202).json(released.created);
    else res.json(present(released.outcome));
  });

  return router;
}
