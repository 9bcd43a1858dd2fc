import express, { Router } from 'express';
import { z } from 'zod';
import type { Authenticator } from '../../src/auth/principal.js';
import type { AuthFailureLimiter } from '../../src/serving/auth-failure-limiter.js';
import { CORS_HEADERS, CORS_PREFLIGHT_HEADERS, DEFAULT_ENVIRONMENT } from '../../src/serving/evaluation-endpoints.js';
import type { InstanceRegistry } from '../../src/serving/instance-registry.js';
import type { InstanceDirectory } from '../../src/serving/instance-directory.js';
import { ForbiddenError, RateLimitedError } from '../../src/errors.js';
import { fleetSchema } from '../../src/protocol/instances-api.js';
import { authenticate, authorize, principalOf } from '../auth.js';
import { parseInput } from '../validation.js';
import { defineRoute } from '../route-docs.js';
import { environmentKeySchema, text, textMatching } from '../schemas.js';

const REPORT_PATH = '/api/v1/instances/report';

/** What an SDK says about itself after every change it applies and as a heartbeat: never user data. */
export const instanceReportSchema = z.strictObject({
  id: textMatching(64, /^[A-Za-z0-9_-]{8,64}$/, '8 to 64 letters, digits, - or _ (a random id the SDK made)').meta({ description: 'a random id the instance made for itself' }),
  kind: z.enum(['node-local', 'node-remote', 'browser']).meta({ description: 'the SDK and its mode (remote-mode instances are listed, not counted: they hold no copy)' }),
  environment: environmentKeySchema.meta({ description: 'admin tokens only; client and server tokens report for their own environment' }).optional(),
  app: text(100).nullable().default(null).meta({ description: 'the application\'s name (the SDK option appName)' }),
  app_version: text(64).nullable().default(null).meta({ description: 'the application\'s version (appVersion)' }),
  host: text(255).nullable().default(null).meta({ description: 'the host name (Node) or the page\'s host (browser); never a user\'s address' }),
  sdk_version: text(32).nullable().default(null).meta({ description: 'the SDK\'s version' }),
  version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).meta({ description: 'the environment version the instance serves' }),
  closing: z.boolean().default(false).meta({ description: 'the instance is closing: it leaves the count now rather than after the expiry' }),
});

const reportAnswerSchema = z.object({
  replica: z.string(),
  heartbeat_seconds: z.number().meta({ description: 'report at least this often; an instance silent for three times as long leaves the count' }),
});

const listQuery = z.object({
  environment: environmentKeySchema.default(DEFAULT_ENVIRONMENT),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
}).strict();

/**
 * `POST /api/v1/instances/report`: SDK instances (Node SDK, browser client) say which environment
 * version they serve. Any token kind may report for its environment (a browser holds a client
 * token); a report changes no flag and steers nothing: it is counted in kill confirmations and listed.
 * Mounted outside /api/v1's router for CORS (browsers send it).
 */
export function createInstanceReportRouter(deps: {
  registry: InstanceRegistry; authenticator: Authenticator; authFailures?: AuthFailureLimiter; heartbeatSeconds: number; replica: string;
}): Router {
  const router = Router();
  router.options(REPORT_PATH, (_req, res) => {
    res.status(204).set(CORS_PREFLIGHT_HEADERS).end();
  });
  router.use(REPORT_PATH, (_req, res, next) => {
    res.set(CORS_HEADERS).set('Cache-Control', 'no-store');
    next();
  });
  defineRoute(router, '', {
    method: 'post', path: REPORT_PATH, tag: 'Evaluation',
    summary: 'An SDK instance reports the environment version it serves (after every change it applies, and as a heartbeat)',
    auth: 'client or server token (its environment), or a user with flag:read in the environment', body: instanceReportSchema,
    responses: { 200: { description: 'counted', schema: reportAnswerSchema } }, errors: [400, 401, 403, 413, 415, 429],
  }, express.json({ limit: '8kb' }), authenticate(deps.authenticator, deps.authFailures), (req, res) => {
    const principal = principalOf(res);
    const body = parseInput(instanceReportSchema, req.body, 'body');
    if (principal.kind !== 'user' && body.environment !== undefined && body.environment !== principal.environment) {
      throw new ForbiddenError(`This token is for environment '${principal.environment}', not '${body.environment}'`);
    }
    const environment = principal.kind === 'user' ? (body.environment ?? DEFAULT_ENVIRONMENT) : principal.environment;
    if (principal.kind === 'user') authorize(res, { resource: 'flag', action: 'read', environment });
    const answer = { replica: deps.replica, heartbeat_seconds: deps.heartbeatSeconds };
    if (body.closing) {
      deps.registry.remove(body.id, environment);
      res.json(answer);
      return;
    }
    const owner = { key: principal.tokenId ?? (principal.kind === 'user' ? `user:${principal.actor.id}` : 'anonymous'), address: req.ip ?? '' };
    const { id, kind, app, app_version, host, sdk_version, version } = body;
    const refusal = deps.registry.refusal(id, environment, owner);
    if (refusal !== null || !deps.registry.report({ id, kind, environment, app, app_version, host, sdk_version, version }, owner)) {
      res.set('retry-after', String(deps.heartbeatSeconds));
      throw new RateLimitedError(`${refusal ?? 'Too many SDK instances'}; retry after ${deps.heartbeatSeconds} s`, deps.heartbeatSeconds);
    }
    res.json(answer);
  });
  return router;
}

/** `GET /api/v1/instances`: the SDK instances of an environment across every replica, laggards first. */
export function createInstancesRouter(directory: InstanceDirectory): Router {
  const router = Router();
  defineRoute(router, '/api/v1', {
    method: 'get', path: '/api/v1/instances', tag: 'Evaluation',
    summary: 'The SDK instances connected to the environment (every replica), laggards first: what each holds and how far behind it is',
    auth: 'users with environment:read', query: listQuery,
    responses: { 200: { description: 'the fleet', schema: fleetSchema } }, errors: [400, 401, 403],
  }, async (req, res) => {
    const { environment, limit } = parseInput(listQuery, req.query, 'query');
    authorize(res, { resource: 'environment', action: 'read', environment });
    res.json(await directory.list(environment, limit));
  });
  return router;
}
