import { Router } from 'express';
import { z } from 'zod';
import type { FlagSnapshot } from '../../src/cache/flag-snapshot.js';
import { ValidationError } from '../../src/errors.js';
import { streamTicketSchema, type StreamTicket } from '../../src/protocol/admin-api.js';
import type { StreamTickets } from '../../src/serving/stream-tickets.js';
import { authorizeUser } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { environmentKeySchema } from '../schemas.js';
import { parseInput } from '../validation.js';

const ticketBody = z.strictObject({
  environments: z.array(environmentKeySchema).min(1).max(20).meta({ description: 'the environments whose changes the stream carries' }),
});

/** `POST /api/v1/stream/tickets`: a signed-in user's single-use pass to open the event stream from a browser. */
export function createStreamTicketsRouter(deps: { tickets: StreamTickets; snapshot: FlagSnapshot }): Router {
  const router = Router();
  defineRoute(router, '/api/v1', {
    method: 'post', path: '/api/v1/stream/tickets', tag: 'Serving',
    summary: 'Mint a single-use ticket (30 s) for GET /api/v1/stream?ticket= — how a browser session listens without putting its token in a URL',
    auth: 'users with flag:read in every environment named', body: ticketBody,
    responses: { 201: { description: 'the ticket', schema: streamTicketSchema } }, errors: [400, 401, 403],
  }, async (req, res) => {
    const { environments } = parseInput(ticketBody, req.body ?? {}, 'body');
    const known = new Set(deps.snapshot.environmentKeys());
    environments.forEach((environment, i) => {
      if (!known.has(environment)) throw new ValidationError('Unknown environment', [{ path: `body.environments.${i}`, message: `no environment '${environment}'` }]);
    });
    let actor = authorizeUser(res, { resource: 'flag', action: 'read', environment: environments[0] });
    for (const environment of environments.slice(1)) actor = authorizeUser(res, { resource: 'flag', action: 'read', environment });
    const { ticket, expiresAt } = await deps.tickets.mint({ userId: actor.id, environments: [...new Set(environments)] });
    res.status(201).json({ ticket, expires_at: expiresAt } satisfies StreamTicket);
  });
  return router;
}
