import { Router } from 'express';
import { z } from 'zod';
import { scheduledChangeCreatedSchema, scheduledChangeListSchema, type ScheduledChangeCreated, type ScheduledChangeList } from '../../src/protocol/admin-api.js';
import { scheduleBodySchema, type ScheduledChangeService } from '../../src/scheduled-changes/scheduled-change-service.js';
import { authorizeFlag, callerOf, type FlagTags } from '../auth.js';
import type { ScheduledChangeCommands } from '../../src/scheduled-changes/scheduled-change-commands.js';
import { changeRequestCreatedSchema } from '../../src/change-requests/change-request-schemas.js';
import { BYPASS_HEADER, bypassOf } from './change-requests.js';
import { defineRoute } from '../route-docs.js';
import { parseInput } from '../validation.js';
import { FLAG_READ, FLAG_WRITE, flagEnvParams } from './flags.js';

const MOUNT = '/api/v1';
const changeParams = flagEnvParams.extend({ id: z.uuid() });

/** Config changes that apply at a set time: schedule, list, cancel. */
export function createScheduledChangesRouter(service: ScheduledChangeService, commands: ScheduledChangeCommands, flags: FlagTags): Router {
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
    const scheduled = await commands.schedule(callerOf(req, res, { bypass: bypassOf(req) }), { flagKey: key, environment: env, body: req.body ?? {} });
    if (scheduled.kind === 'requested') res.status(202).json(scheduled.created);
    else res.status(201).json(scheduled.value satisfies ScheduledChangeCreated);
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
    res.json(await commands.cancel(callerOf(req, res), { flagKey: key, environment: env, changeId: id }));
  });

  return router;
}
