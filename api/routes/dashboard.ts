import { Router } from 'express';
import { z } from 'zod';
import { dashboardPageSchema, dashboardSortSchema, runningRolloutsSchema, type DashboardPage, type RunningRollouts } from '../../src/protocol/admin-api.js';
import type { LifecycleService } from '../../src/lifecycle/lifecycle-service.js';
import type { DashboardService } from '../../src/dashboard/dashboard-service.js';
import { authorizeUser } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { cursorSchema, environmentKeySchema, tagSchema } from '../schemas.js';
import { parseInput } from '../validation.js';
import { nonBlankText } from '../../src/domain/text.js';

const MOUNT = '/api/v1';
const READ = 'users with flag:read (viewer and above)';

const dashboardQuery = z.strictObject({
  q: nonBlankText(200).optional().meta({ description: 'text in the key, name or description' }),
  tag: z.union([tagSchema, z.array(tagSchema).max(20)]).optional().meta({ description: 'repeat to require several tags' }),
  environment: environmentKeySchema.optional(),
  state: z.enum(['active', 'archived', 'all', 'enabled', 'disabled', 'killed']).default('active')
    .meta({ description: 'enabled/disabled/killed: in `environment`, or in any environment when none is given' }),
  sort: dashboardSortSchema.default('key').meta({ description: 'key or updated; a leading - sorts descending' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: cursorSchema.optional(),
});

/** The dashboard's two reads: a page of flags with everything its rows show, and every running rollout. */
export function createDashboardRouter(service: DashboardService, lifecycle?: LifecycleService): Router {
  const router = Router();

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/dashboard/flags', tag: 'Dashboard',
    summary: 'A page of flags with their state in every environment, running rollouts and evaluation rates, in one request',
    auth: READ, query: dashboardQuery,
    responses: { 200: { description: 'a page of flags; next_cursor continues', schema: dashboardPageSchema } }, errors: [400, 401, 403],
  }, async (req, res) => {
    const query = parseInput(dashboardQuery, req.query, 'query');
    authorizeUser(res, { resource: 'flag', action: 'read', environment: query.environment });
    const tags = query.tag === undefined ? undefined : Array.isArray(query.tag) ? query.tag : [query.tag];
    const page = await service.flags({ ...query, tags });
    const stages = await lifecycle?.ofFlags(page.flags.map((flag) => flag.key));
    res.json({
      ...page,
      flags: page.flags.map((flag) => {
        const stage = stages?.get(flag.key);
        return { ...flag, lifecycle: stage && { stage: stage.stage, reason: stage.reason } };
      }),
    } satisfies DashboardPage);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/dashboard/rollouts', tag: 'Dashboard',
    summary: 'Every rollout that is running, paused or waiting for an approval, across all flags',
    auth: READ, responses: { 200: { description: 'running rollouts, newest activity first', schema: runningRolloutsSchema } }, errors: [401, 403],
  }, async (_req, res) => {
    authorizeUser(res, { resource: 'flag', action: 'read' });
    res.json((await service.runningRollouts()) satisfies RunningRollouts);
  });

  return router;
}
