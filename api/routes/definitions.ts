import { Router } from 'express';
import { z } from 'zod';
import type { FlagSnapshot } from '../../src/cache/flag-snapshot.js';
import type { FlagDefinition } from '../../src/domain/flag.js';
import type { Segment } from '../../src/domain/segment.js';
import { NotFoundError } from '../../src/errors.js';
import { DEFAULT_ENVIRONMENT } from '../../src/serving/evaluation-endpoints.js';
import { etagOf, matchesIfNoneMatch } from '../../src/serving/etag.js';
import { definitionsPayloadSchema } from '../../src/protocol/definitions.js';
import { authorize, principalOf } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { environmentKeySchema } from '../schemas.js';
import { parseInput } from '../validation.js';

const MOUNT = '/api/v1';
const querySchema = z.strictObject({
  environment: environmentKeySchema.optional().meta({ description: 'for admin tokens (else X-Environment, default production); server tokens read their own' }),
});

interface Rendered {
  version: number;
  segments: ReadonlyMap<string, Segment>;
  body: string;
  etag: string;
}

/** The environment's served definitions and the segments they name, as one payload. */
function render(snapshot: FlagSnapshot, environment: string): Omit<Rendered, 'body' | 'etag'> & { payload: unknown } {
  const segments = snapshot.currentSegments();
  const flags: FlagDefinition[] = [...snapshot.definitions(environment)]
    .filter((definition) => !definition.archived)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const named = new Set(flags.flatMap((flag) => flag.config.targeting.flatMap((t) => t.segments)));
  const used = [...named].sort().flatMap((key) => {
    const segment = segments.get(key);
    return segment ? [segment] : [];
  });
  const version = snapshot.version(environment);
  return { version, segments, payload: { environment, version, flags, segments: used } };
}

/**
 * `GET /api/v1/definitions`: the environment's flag definitions and segments, for SDKs that evaluate
 * in process (local mode). Server tokens read their environment; users need flag:read there. The
 * body is rendered once per environment version and segment set, so `If-None-Match` polls are cheap.
 */
export function createDefinitionsRouter(snapshot: FlagSnapshot): Router {
  const router = Router();
  const cache = new Map<string, Rendered>();

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/definitions', tag: 'SDK',
    summary: "The environment's flag definitions and the segments they name, for local evaluation (ETag; If-None-Match → 304)",
    auth: 'server tokens (their environment), users with flag:read in the environment', query: querySchema,
    headers: [{ name: 'If-None-Match', description: 'the ETag of definitions already held: 304 when unchanged' }],
    responses: { 200: { description: 'definitions', schema: definitionsPayloadSchema }, 304: { description: 'unchanged' } },
    errors: [400, 401, 403, 404],
  }, (req, res) => {
    const { environment: asked } = parseInput(querySchema, req.query, 'query');
    const principal = principalOf(res);
    const environment = principal.kind === 'user' ? (asked ?? req.get('x-environment') ?? DEFAULT_ENVIRONMENT) : principal.environment;
    authorize(res, { resource: 'flag', action: 'read', environment: asked ?? environment });
    if (!snapshot.hasEnvironment(environment)) throw new NotFoundError(`Environment '${environment}' is unknown`);

    let rendered = cache.get(environment);
    if (!rendered || rendered.version !== snapshot.version(environment) || rendered.segments !== snapshot.currentSegments()) {
      const { payload, ...key } = render(snapshot, environment);
      const body = JSON.stringify(payload);
      rendered = { ...key, body, etag: etagOf(body) };
      cache.set(environment, rendered);
    }
    res.set({ etag: rendered.etag, 'cache-control': 'no-cache' });
    if (matchesIfNoneMatch(req.get('if-none-match'), rendered.etag)) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(rendered.body);
  });
  return router;
}
