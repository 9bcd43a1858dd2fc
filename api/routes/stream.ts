import { Router, type Request, type Response } from 'express';
import type { Authenticator } from '../../src/auth/principal.js';
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
export function createStreamRouter(deps: { authenticator: Authenticator; hub: StreamHub; metrics: Metrics; tickets?: StreamTickets }): Router {
  const router = Router();
  router.options('/api/v1/stream', (_req, res) => {
    res.status(204).set(CORS_PREFLIGHT_HEADERS).end();
  });
  /** Opens the event stream on `res` for the given environments (one per token; a ticket may name several). */
  const open = (req: Request, res: Response, environments: string[], lastEventId: number | undefined) => {
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    res.status(200).set({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    const detach = environments.map((environment) => deps.hub.connect(environment, res, lastEventId));
    deps.metrics.streamClients.inc();
    res.on('close', () => {
      for (const d of detach) d();
      deps.metrics.streamClients.dec();
    });
  };

  defineRoute(router, '', {
    method: 'get', path: '/api/v1/stream', tag: 'Evaluation', summary: 'Server-Sent Events of flag changes in the token environment (Last-Event-ID resumes)',
    auth: 'client, server or admin token (client tokens may come as ?token=, signed-in pages as ?ticket=)',
    headers: [{ name: 'Last-Event-ID', description: 'the last event id seen: what was missed is replayed' }],
    responses: { 200: { description: 'text/event-stream' } }, errors: [401, 403, 429],
  }, async (req, res) => {
    // A signed-in browser page: a single-use ticket from POST /api/v1/stream/tickets, never its token.
    if (typeof req.query.ticket === 'string' && deps.tickets) {
      const grant = await deps.tickets.redeem(req.query.ticket);
      res.set(CORS_HEADERS);
      if (!grant) {
        res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'The stream ticket is unknown, expired or already used; mint a new one' } });
        return;
      }
      // Ids are per-environment versions: a page listening to several reloads its data on reconnect instead of replaying.
      open(req, res, grant.environments, undefined);
      return;
    }
    // A browser's EventSource cannot send headers, so `?token=` is accepted too, for client tokens
    // only: they are public by design, whereas a server or admin token must never sit in a URL (logs).
    const headerToken = tokenFromHeaders((name) => req.get(name));
    const queryToken = !headerToken && typeof req.query.token === 'string' ? req.query.token : null;
    const token = headerToken ?? queryToken;
    const principal = token ? await deps.authenticator.authenticate(token) : null;
    res.set(CORS_HEADERS);
    if (!principal) {
      res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'A valid API token is required (Authorization: Bearer <token>)' } });
      return;
    }
    if (queryToken && principal.kind !== 'client') {
      res.status(403).json({ error: { code: 'FORBIDDEN', message: 'Only client tokens may be sent as ?token=; send others in the Authorization header' } });
      return;
    }
    const requested = req.get('x-environment');
    if (principal.kind !== 'user' && requested !== undefined && requested !== principal.environment) {
      res.status(403).json({ error: { code: 'FORBIDDEN', message: `This token is for environment '${principal.environment}', not '${requested}'` } });
      return;
    }
    const environment = principal.kind === 'user' ? (requested ?? DEFAULT_ENVIRONMENT) : principal.environment;
    const lastEventHeader = req.get('last-event-id') ?? (typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined);
    const lastEventId = lastEventHeader === undefined || lastEventHeader === '' ? undefined : Number(lastEventHeader);

    open(req, res, [environment], lastEventId);
  });
  return router;
}
