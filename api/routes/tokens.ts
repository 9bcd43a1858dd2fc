import { Router } from 'express';
import type { Token, TokenCreated, TokenPage } from '../../src/protocol/admin-api.js';
import { z } from 'zod';
import type { TokenCommands } from '../../src/users/token-commands.js';
import { callerOf } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { cursorSchema, environmentKeySchema, limitSchema, nonBlankText, queryBoolean, reasonSchema, tokenSchema, uuidSchema } from '../schemas.js';
import { parseInput } from '../validation.js';

const MOUNT = '/api/v1';
const kindSchema = z.enum(['client', 'server', 'admin']);

const tokenName = nonBlankText(200);
/** Client and server tokens belong to one environment; admin tokens act as a user in every environment. */
const environmentTokenSchema = (kind: 'client' | 'server', what: string) =>
  z.strictObject({
    name: tokenName,
    kind: z.literal(kind).meta({ description: what }),
    environment: environmentKeySchema,
    user_id: z.never({ error: `${kind} tokens belong to an environment, not a user` }).optional(),
    reason: reasonSchema.optional(),
  });
export const newTokenSchema = z.discriminatedUnion('kind', [
  environmentTokenSchema('client', 'evaluate only, in one environment'),
  environmentTokenSchema('server', 'evaluate, read definitions and stream, in one environment'),
  z.strictObject({
    name: tokenName,
    kind: z.literal('admin').meta({ description: 'acts as its user under RBAC' }),
    environment: z.never({ error: 'admin tokens span environments (choose one per request with X-Environment)' }).optional(),
    user_id: uuidSchema.optional().meta({ description: 'the user it acts as (default: the caller; the bootstrap token must name one)' }),
    reason: reasonSchema.optional(),
  }),
]);
const idParams = z.object({ id: uuidSchema });
const listQuery = z.strictObject({
  kind: kindSchema.optional(),
  environment: environmentKeySchema.optional(),
  user_id: uuidSchema.optional(),
  include_revoked: queryBoolean.optional(),
  limit: limitSchema.default(100),
  cursor: cursorSchema.optional(),
});
const reasonBody = z.strictObject({ reason: reasonSchema.optional() }).optional();
const WHO = 'any user: admins see and revoke every token; others their own, those they made, and those of environments they may write';

/** API tokens: the secret is answered once, at creation; only its hash is stored. The token commands decide who may see and change which. */
export function createTokensRouter(commands: TokenCommands): Router {
  const router = Router();

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/tokens', tag: 'Tokens', summary: 'Create a token; the secret is in this answer only',
    auth: 'client/server: environment:write on its environment (editor, admin, or a grant); admin kind: anyone for themselves, admins for others',
    body: newTokenSchema,
    responses: { 201: { description: 'the token and its secret (`token`, e.g. rc_server_…)', schema: tokenSchema.extend({ token: z.string() }) } },
    errors: [400, 401, 403, 413, 415],
  }, async (req, res) => {
    const { reason, ...input } = parseInput(newTokenSchema, req.body, 'body');
    res.status(201).json((await commands.create(callerOf(req, res, { reason }), input)) satisfies TokenCreated);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/tokens', tag: 'Tokens', summary: 'List tokens, newest first', auth: WHO, query: listQuery,
    responses: { 200: { description: 'a page of tokens', schema: z.object({ tokens: z.array(tokenSchema), next_cursor: z.string().nullable() }) } },
    errors: [400, 401, 403],
  }, async (req, res) => {
    const query = parseInput(listQuery, req.query, 'query');
    res.json((await commands.list(callerOf(req, res), query)) satisfies TokenPage);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/tokens/{id}', tag: 'Tokens', summary: 'One token (never its secret)', auth: WHO, params: idParams,
    responses: { 200: { description: 'the token', schema: tokenSchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    res.json((await commands.get(callerOf(req, res), { id })) satisfies Token);
  });

  defineRoute(router, MOUNT, {
    method: 'delete', path: '/api/v1/tokens/{id}', tag: 'Tokens', summary: 'Revoke a token: it fails at once in every API process', auth: WHO,
    params: idParams, body: reasonBody,
    responses: { 200: { description: 'the revoked token', schema: tokenSchema } }, errors: [400, 401, 403, 404, 409],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const body = parseInput(reasonBody, req.body, 'body');
    res.json((await commands.revoke(callerOf(req, res, { reason: body?.reason }), { id })) satisfies Token);
  });

  return router;
}
