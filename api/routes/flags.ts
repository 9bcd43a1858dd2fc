import { Router, type Request } from 'express';
import { z } from 'zod';
import { flagTypeSchema } from '../../src/domain/flag.js';
import { ValidationError } from '../../src/errors.js';
import type { FlagService, RequestMeta } from '../../src/services/flag-service.js';
import { requireUser } from '../auth.js';
import { parseInput } from '../validation.js';
import type { Actor } from '../../src/auth/principal.js';

export const flagKeySchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, dot, dash or underscore; at most 128');
export const environmentKeySchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'an environment key such as production');

const newFlagSchema = z.strictObject({
  key: flagKeySchema,
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  type: flagTypeSchema,
  tags: z.array(z.string().regex(/^[\w.:-]{1,64}$/, 'a tag of letters, digits and . : - _')).max(50).optional(),
});

const flagParams = z.object({ key: flagKeySchema });
export const flagEnvParams = z.object({ key: flagKeySchema, env: environmentKeySchema });

export function requestMeta(req: Request, actor: Actor): RequestMeta {
  return { actor, ipAddress: req.ip ?? null, userAgent: req.get('user-agent') ?? null };
}

/** The version a write expects: `If-Match: <version>` (quotes allowed) or a `version` body field. */
function expectedVersion(req: Request): number | undefined {
  const header = req.get('if-match');
  const raw = header ?? (req.body && typeof req.body === 'object' ? (req.body as { version?: unknown }).version : undefined);
  if (raw === undefined) return undefined;
  const version = Number(String(raw).replace(/^W\//, '').replace(/"/g, ''));
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new ValidationError('Invalid version', [{ path: header ? 'headers.if-match' : 'body.version', message: 'must be a version number' }]);
  }
  return version;
}

const WRITERS = ['editor', 'admin'] as const;
const READERS = ['viewer', 'editor', 'admin', 'emergency_responder'] as const;

/** Flag definitions and per-environment configs. */
export function createFlagsRouter(service: FlagService): Router {
  const router = Router();

  router.post('/flags', async (req, res) => {
    const actor = requireUser(res, WRITERS);
    const input = parseInput(newFlagSchema, req.body, 'body');
    res.status(201).json(await service.createFlag(input, requestMeta(req, actor)));
  });

  router.get('/flags/:key', async (req, res) => {
    requireUser(res, READERS);
    const { key } = parseInput(flagParams, req.params, 'params');
    res.json(await service.getFlag(key));
  });

  router.get('/flags/:key/environments/:env', async (req, res) => {
    requireUser(res, READERS);
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const flag = await service.getConfig(key, env);
    res.set('ETag', `"${flag.version}"`).json(flag);
  });

  router.put('/flags/:key/environments/:env', async (req, res) => {
    const actor = requireUser(res, WRITERS);
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const version = expectedVersion(req);
    const { version: _version, ...body } = (req.body ?? {}) as Record<string, unknown>;
    const flag = await service.updateConfig(key, env, body, version, requestMeta(req, actor));
    res.set('ETag', `"${flag.version}"`).json(flag);
  });

  return router;
}
