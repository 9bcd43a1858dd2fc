import { Router } from 'express';
import { z } from 'zod';
import { ForbiddenError, NotFoundError } from '../../src/errors.js';
import { flagdEnvironmentFor } from '../../src/flagd/flagd-access.js';
import type { FlagdFeed } from '../../src/flagd/flagd-feed.js';
import { matchesIfNoneMatch } from '../../src/serving/etag.js';
import { principalOf } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { environmentKeySchema } from '../schemas.js';
import { parseInput } from '../validation.js';

const MOUNT = '/api/v1';
const params = z.strictObject({ env: environmentKeySchema });

/** The keys of flags left out of a document (flagd can't express them), as a header; the reasons are in the docs. */
const LEFT_OUT_HEADER = 'x-ripcord-flagd-left-out';

/**
 * `GET /api/v1/flagd/{env}/flags.json`: the environment's flags in flagd's flag-definition format,
 * for flagd's HTTP sync source (`flagd start --uri https://…/flags.json` with a bearer token) and
 * anything else that reads flagd files. The gRPC FlagSyncService (FLAGD_SYNC_PORT) pushes the same
 * document on every change.
 */
export function createFlagdRouter(feed: FlagdFeed, ensureEnvironment: (environment: string) => Promise<boolean>): Router {
  const router = Router();
  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/flagd/{env}/flags.json', tag: 'SDK',
    summary: "The environment's flags as a flagd flag-definition document (ETag; If-None-Match → 304); flags flagd can't express are left out and named in X-Ripcord-Flagd-Left-Out",
    auth: 'server tokens (their environment), users with flag:read in the environment', params,
    headers: [{ name: 'If-None-Match', description: 'the ETag of the document already held: 304 when unchanged' }],
    responses: { 200: { description: 'a flagd document (https://flagd.dev/schema/v0/flags.json)' }, 304: { description: 'unchanged' } },
    errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { env } = parseInput(params, req.params, 'params');
    const access = flagdEnvironmentFor(principalOf(res), env);
    if ('denied' in access) throw new ForbiddenError(access.denied);
    const document = (await ensureEnvironment(env)) ? feed.render(env) : undefined;
    if (!document) throw new NotFoundError(`Environment '${env}' is unknown`);
    res.set({ etag: document.etag, 'cache-control': 'no-cache' });
    if (document.leftOut.length > 0) res.set(LEFT_OUT_HEADER, document.leftOut.map((l) => l.key).join(',').slice(0, 4000));
    if (matchesIfNoneMatch(req.get('if-none-match'), document.etag)) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(document.body);
  });
  return router;
}
