import { Router, type Request, type Response } from 'express';
import type { Authenticator, Principal } from '../../src/auth/principal.js';
import type { AuthFailureLimiter } from '../../src/serving/auth-failure-limiter.js';
import type { StreamRegistry } from '../../src/serving/stream-registry.js';
import { lastEventIdOf, openEventStream } from '../event-stream.js';
import { CORS_HEADERS, CORS_PREFLIGHT_HEADERS, DEFAULT_ENVIRONMENT, tokenFromHeaders } from '../../src/serving/evaluation-endpoints.js';
import type { StreamHub } from '../../src/serving/stream-hub.js';
import type { Metrics } from '../../src/metrics.js';
import { defineRoute } from '../route-docs.js';
import type { StreamTickets } from '../../src/serving/stream-tickets.js';

/**
 * `GET /api/v1/stream`: Server-Sent Events of the flag changes in the token's environment
 * (`flag.updated`, `flag.killed`, `flag.restored`, each with its version as the event id),
 * `heartbeat` events, and a replay of what was missed after `Last-Event-ID`. Any token may listen:
 * events name flags and versions, never definitions.
 */
export function createStreamRouter(deps: {
  authenticator: Authenticator; hub: StreamHub; metrics: Metrics; tickets?: StreamTickets; streams: StreamRegistry; authFailures?: AuthFailureLimiter;
}): Router {
  const router = Router();
  router.options('/api/v1/stream', (_req, res) => {
    res.status(204).set(CORS_PREFLIGHT_HEADERS).end();
  });
  const unauthorized = (res: Response, address: string) => {
    deps.authFailures?.fail(address);
    res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'A valid API token is required (Authorization: Bearer <token>)' } });
  };
  const open = (req: Request, res: Response, environments: string[], lastEventId: number | undefined, who: { key: string; principal: Principal | null }) =>
    openEventStream(deps, req, res, environments, lastEventId, who);

  defineRoute(router, '', {
    method: 'get', path: '/api/v1/stream', tag: 'Evaluation', summary: 'Server-Sent Events of flag changes in the token environment (Last-Event-ID resumes)',
    auth: 'client, server or admin token (client tokens may come as ?token=, signed-in pages as ?ticket=)',
    headers: [{ name: 'Last-Event-ID', description: 'the last event id seen: what was missed is replayed' }],
    responses: { 200: { description: 'text/event-stream' } }, errors: [401, 403, 429],
  }, async (req, res) => {
    const address = req.ip ?? '';
    const offered = tokenFromHeaders((name) => req.get(name)) ?? (typeof req.query.token === 'string' ? req.query.token : null);
    const blockedFor = deps.authFailures?.retryAfterFor(address, offered, deps.authenticator) ?? 0;
    if (blockedFor > 0) {
      res.set(CORS_HEADERS).set('retry-after', String(blockedFor));
      res.status(429).json({ error: { code: 'RATE_LIMITED', message: `Too many failed authentications from this address; retry after ${blockedFor} s` } });
      return;
    }
    // A signed-in browser page: a single-use ticket from POST /api/v1/stream/tickets, never its token.
    if (typeof req.query.ticket === 'string' && deps.tickets) {
      const grant = await deps.tickets.redeem(req.query.ticket);
      res.set(CORS_HEADERS);
      if (!grant) {
        deps.authFailures?.fail(address);
        res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'The stream ticket is unknown, expired or already used; mint a new one' } });
        return;
      }
      // Ids are per-environment versions: a page listening to several reloads its data on reconnect instead of replaying.
      // Closed with the user's other streams when the user changes (the principal names only the user).
      const principal: Principal = { kind: 'user', actor: { id: grant.userId, name: '', role: 'viewer' }, tokenId: null, grants: [] };
      open(req, res, grant.environments, undefined, { key: `user:${grant.userId}`, principal });
      return;
    }
    // A browser's EventSource cannot send headers, so `?token=` is accepted too, for client tokens
    // only: they are public by design, whereas a server or admin token must never sit in a URL (logs).
    const headerToken = tokenFromHeaders((name) => req.get(name));
    const queryToken = !headerToken && typeof req.query.token === 'string' ? req.query.token : null;
    const token = headerToken ?? queryToken;
    const principal = token ? await deps.authenticator.authenticate(token) : null;
    res.set(CORS_HEADERS);
    // A server or admin token as ?token= gets exactly the answer an unknown token gets, so the query
    // string can't be used to learn whether such a secret is valid.
    if (!principal || (queryToken && principal.kind !== 'client')) {
      unauthorized(res, address);
      return;
    }
    const requested = req.get('x-environment');
    if (principal.kind !== 'user' && requested !== undefined && requested !== principal.environment) {
      res.status(403).json({ error: { code: 'FORBIDDEN', message: `This token is for environment '${principal.environment}', not '${requested}'` } });
      return;
    }
    const environment = principal.kind === 'user' ? (requested ?? DEFAULT_ENVIRONMENT) : principal.environment;
    const lastEventId = lastEventIdOf(req);

    const key = principal.tokenId ?? (principal.kind === 'user' ? `user:${principal.actor.id}` : 'anonymous');
    open(req, res, [environment], lastEventId, { key, principal });
  });
  return router;
}
