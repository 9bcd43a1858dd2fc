import { Router } from 'express';
import { z } from 'zod';
import { rolloutListSchema, rolloutProgressSchema, rolloutStartedSchema, type RolloutList, type RolloutProgressView, type RolloutStarted } from '../../src/protocol/admin-api.js';
import { changeRequestCreatedSchema } from '../../src/change-requests/change-request-schemas.js';
import { rolloutStartSchema } from '../../src/rollouts/rollout-service.js';
import { rolloutProgressView, rolloutRecordView, rolloutStartedView } from '../../src/rollouts/rollout-views.js';
import type { RolloutCommands } from '../../src/rollouts/rollout-commands.js';
import { callerOf } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { reasonSchema, requiredReasonSchema } from '../schemas.js';
import { parseInput } from '../validation.js';
import { BYPASS_HEADER, bypassOf } from './change-requests.js';
import { FLAG_READ, FLAG_WRITE, flagEnvParams } from './flags.js';

const MOUNT = '/api/v1';
const startBody = rolloutStartSchema.extend({
  reason: reasonSchema.optional().meta({ description: 'why, for the audit log and a change request (or X-Audit-Reason); required with X-Change-Request-Bypass' }),
});

/** Each steering action is an operation of its own, with the body it takes (the document shows each one). */
const actions = {
  pause: { summary: 'Pause the running rollout', body: z.strictObject({ reason: requiredReasonSchema.optional() }).optional() },
  resume: { summary: 'Resume the paused rollout', body: z.strictObject({}).optional() },
  skip: { summary: 'Skip the rest of the current step', body: z.strictObject({}).optional() },
  approve: { summary: 'Approve the step waiting at its approval gate', body: z.strictObject({}).optional() },
  abort: { summary: 'Abort the running rollout; rollback sets the percentage back to where it started', body: z.strictObject({ rollback: z.boolean(), reason: requiredReasonSchema.optional() }) },
} as const;

/**
 * Rollouts of a flag in one environment: start, list with live progress, and steer the running one.
 * A start may be covered by the environment's change policy (it then waits as a change request);
 * steering a running rollout never is: pause and abort are incident tools.
 */
export function createRolloutsRouter(commands: RolloutCommands): Router {
  const router = Router();
  const base = '/api/v1/flags/{key}/environments/{env}/rollouts';

  defineRoute(router, MOUNT, {
    method: 'post', path: base, tag: 'Rollouts', summary: 'Start a rollout workflow (rollout:<env>:<flag>); 409 names a running one',
    auth: FLAG_WRITE, params: flagEnvParams, body: startBody, headers: [BYPASS_HEADER],
    responses: {
      201: { description: 'the workflow started', schema: rolloutStartedSchema },
      202: { description: "the environment's change policy covers rollouts: it was NOT started; it waits as a change request (kind rollout) and starts once approved", schema: changeRequestCreatedSchema },
    },
    errors: [400, 401, 403, 404, 409, 413, 415],
  }, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const { reason, plan } = parseInput(startBody, req.body ?? {}, 'body');
    const started = await commands.start(callerOf(req, res, { reason, bypass: bypassOf(req) }), { flagKey: key, environment: env, plan });
    if (started.kind === 'requested') res.status(202).json(started.created);
    else res.status(201).json(rolloutStartedView(started.value) satisfies RolloutStarted);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: base, tag: 'Rollouts', summary: 'Rollouts of the flag (read model) and the running one’s live progress',
    auth: FLAG_READ, params: flagEnvParams, responses: { 200: { description: 'the running rollout (null when none) and every rollout of the flag', schema: rolloutListSchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const { current, rollouts } = await commands.list(callerOf(req, res), { flagKey: key, environment: env });
    res.json({ current: current && rolloutProgressView(current), rollouts: rollouts.map((r) => rolloutRecordView(r, r.url)) } satisfies RolloutList);
  });

  for (const [action, { summary, body }] of Object.entries(actions) as Array<[keyof typeof actions, (typeof actions)[keyof typeof actions]]>) {
    defineRoute(router, MOUNT, {
      method: 'post', path: `${base}/current/${action}`, tag: 'Rollouts', summary, auth: FLAG_WRITE, params: flagEnvParams, body,
      responses: { 200: { description: 'progress after the update', schema: rolloutProgressSchema } }, errors: [400, 401, 403, 404, 409, 413, 415],
    }, async (req, res) => {
      const { key, env } = parseInput(flagEnvParams, req.params, 'params');
      const args = parseInput(body, req.body, 'body') ?? {};
      res.json(rolloutProgressView(await commands.steer(callerOf(req, res), { flagKey: key, environment: env, action, args })) satisfies RolloutProgressView);
    });
  }

  return router;
}
