import { Router } from 'express';
import { z } from 'zod';
import type { OutcomeService } from '../../src/flag-metrics/outcome-service.js';
import { ForbiddenError } from '../../src/errors.js';
import { authorize, principalOf } from '../auth.js';
import { parseInput } from '../validation.js';
import { text } from '../schemas.js';
import { defineRoute } from '../route-docs.js';
import { environmentKeySchema, flagKeySchema } from './flags.js';

const eventsBody = z.strictObject({
  /** Only for admin tokens; client and server tokens report for their own environment. */
  environment: environmentKeySchema.optional(),
  events: z
    .array(
      z.strictObject({
        flag: flagKeySchema,
        variant: text(128).min(1),
        outcome: z.enum(['success', 'error']),
        count: z.number().int().min(1).max(1_000_000).default(1),
      }),
    )
    .min(1)
    .max(1000),
});

/** Outcomes reported by SDKs and services (flag, variant, success or error), for rollout guards. */
export function createEventsRouter(outcomes: OutcomeService): Router {
  const router = Router();
  defineRoute(router, '/api/v1', {
    method: 'post', path: '/api/v1/events', tag: 'Evaluation', summary: 'Report outcomes (flag, variant, success/error) for rollout guards',
    auth: 'server tokens (their environment) and users with flag:write in the environment; never client tokens', body: eventsBody,
    responses: { 202: { description: '{accepted, environment}' } }, errors: [400, 401, 403, 404, 413, 415],
  }, async (req, res) => {
    const principal = principalOf(res);
    // Outcomes steer rollout guards, which roll back or pull the kill switch: a client token ships to
    // browsers, so anyone could forge them with it.
    if (principal.kind === 'client') throw new ForbiddenError('Client tokens may only evaluate; report outcomes with a server token');
    const body = parseInput(eventsBody, req.body, 'body');
    const environment =
      principal.kind === 'user' ? (body.environment ?? req.get('x-environment') ?? 'production') : principal.environment;
    if (principal.kind === 'user') authorize(res, { resource: 'flag', action: 'write', environment });
    // A guard caps each reporter's weight and names whose errors drove a breach.
    const reporter = principal.kind === 'user' ? `user:${principal.actor.id}` : `token:${principal.tokenId}`;
    await outcomes.record(
      environment, reporter,
      body.events.map((e) => ({ flagKey: e.flag, variant: e.variant, outcome: e.outcome, count: e.count })),
    );
    res.status(202).json({ accepted: body.events.length, environment });
  });
  return router;
}
