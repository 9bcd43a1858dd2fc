import { Router } from 'express';
import { z } from 'zod';
import { scheduledChangeCreatedSchema, scheduledChangeListSchema, type ScheduledChangeCreated, type ScheduledChangeList } from '../../src/protocol/admin-api.js';
import { scheduleBodySchema, type ScheduledChangeService } from '../../src/scheduled-changes/scheduled-change-service.js';
import { authorizeFlag, authorizeFlagUser, metaOf, type FlagTags, requestOrigin } from '../auth.js';
import type { ChangeRequestService } from '../../src/change-requests/change-request-service.js';
import { changeRequestCreatedSchema } from '../../src/change-requests/change-request-schemas.js';
import { parseConfigInput } from '../../src/flags/config-validation.js';
import { BYPASS_HEADER, gateWrite } from './change-requests.js';
import { defineRoute } from '../route-docs.js';
import { parseInput } from '../validation.js';
import { FLAG_READ, FLAG_WRITE, flagEnvParams } from './flags.js';

const MOUNT = '/api/v1';
const changeParams = flagEnvParams.extend({ id: z.uuid() });

/** Config changes that apply at a set time: schedule, list, cancel. */
export function createScheduledChangesRouter(service: ScheduledChangeService, flags: FlagTags, changeRequests?: ChangeRequestService): Router {
  const router = Router();
  const base = '/api/v1/flags/{key}/environments/{env}/scheduled-changes';

  defineRoute(router, MOUNT, {
    method: 'post', path: base, tag: 'Scheduled changes', summary: 'Apply a whole config at a set time (scheduledChange workflow), checked now as PUT checks it',
    auth: FLAG_WRITE, params: flagEnvParams, body: scheduleBodySchema, headers: [BYPASS_HEADER],
    responses: {
      201: { description: 'the change and its workflow', schema: scheduledChangeCreatedSchema },
      202: { description: "the environment's change policy covers scheduled changes: a change request that applies at `at` once approved", schema: changeRequestCreatedSchema },
    },
    errors: [400, 401, 403, 404, 413, 415],
  }, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const actor = await authorizeFlagUser(res, flags, key, env, 'write');
    // A body the schedule itself refuses is left to it, so the errors are the same with or without a policy.
    const parsed = scheduleBodySchema.safeParse(req.body ?? {});
    const meta = metaOf(req, res, actor, parsed.data?.reason);
    if (parsed.success && Date.parse(parsed.data.at) > Date.now() && await gateWrite(changeRequests, req, res, meta, {
      flagKey: key, environment: env, covers: 'scheduled_changes', source: 'scheduled', applyAt: new Date(parsed.data.at).toISOString(),
      proposed: async (_tx, flag) => parseConfigInput(flag.type, parsed.data.config, 'body.config'),
    })) return;
    res.status(201).json((await service.schedule(key, env, req.body ?? {}, actor, { ...requestOrigin(req), auditMetadata: meta.auditMetadata })) satisfies ScheduledChangeCreated);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: base, tag: 'Scheduled changes', summary: 'Scheduled changes of the flag with their state',
    auth: FLAG_READ, params: flagEnvParams, responses: { 200: { description: 'the changes, newest first', schema: scheduledChangeListSchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    await authorizeFlag(res, flags, key, env, 'read');
    res.json((await service.list(key, env)) satisfies ScheduledChangeList);
  });

  defineRoute(router, MOUNT, {
    method: 'delete', path: `${base}/{id}`, tag: 'Scheduled changes', summary: 'Cancel a pending scheduled change',
    auth: FLAG_WRITE, params: changeParams, responses: { 200: { description: 'cancelled' } }, errors: [400, 401, 403, 404, 409],
  }, async (req, res) => {
    const { key, env, id } = parseInput(changeParams, req.params, 'params');
    const actor = await authorizeFlagUser(res, flags, key, env, 'write');
    res.json(await service.cancel(key, env, id, actor, requestOrigin(req)));
  });

  return router;
}
