import { Router } from 'express';
import type { User } from '../../src/protocol/admin-api.js';
import { z } from 'zod';
import { ForbiddenError } from '../../src/errors.js';
import type { UserService } from '../../src/users/user-service.js';
import type { UserCommands } from '../../src/users/user-commands.js';
import type { AlertTriggerService } from '../../src/alert-triggers/alert-trigger-service.js';
import type { TokenService } from '../../src/users/token-service.js';
import { authorize, callerOf, principalOf } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { atLeastOneOf, grantSchema, limitSchema, queryBoolean, reasonSchema, roleSchema, userSchema, uuidSchema } from '../schemas.js';
import { parseInput } from '../validation.js';
import { nonBlankText, textMatching } from '../schemas.js';

const MOUNT = '/api/v1';
const namesQuery = z.object({
  ids: textMatching(10_000, /^[^,]{1,256}(,[^,]{1,256}){0,99}$/, 'up to 100 comma-separated actor ids').meta({ description: 'comma-separated actor ids (user ids, bootstrap-admin, trigger:<id>, token:<id>), up to 100' }),
});
const namesSchema = z.object({ names: z.array(z.object({ id: z.string(), name: z.string() })) });
const slackUserId = textMatching(32, /^[UW][A-Z0-9]{2,20}$/, 'a Slack member id such as U012AB3CD');

export const newUserSchema = z.strictObject({
  email: z.email().max(254),
  name: nonBlankText(200),
  role: roleSchema,
  slack_user_id: slackUserId.nullish(),
  grants: z.array(grantSchema).max(100).optional(),
  reason: reasonSchema.optional(),
});

export const userPatchSchema = atLeastOneOf(z.strictObject({
  name: nonBlankText(200).optional(),
  role: roleSchema.optional(),
  slack_user_id: slackUserId.nullable().optional(),
  reason: reasonSchema.optional(),
}), ['name', 'role', 'slack_user_id']);

export const grantsBodySchema = z.strictObject({ grants: z.array(grantSchema).max(100), reason: reasonSchema.optional() });
const reasonBody = z.strictObject({ reason: reasonSchema.optional() }).optional();
const idParams = z.object({ id: uuidSchema });
const listQuery = z.strictObject({
  role: roleSchema.optional(),
  slack_user_id: slackUserId.optional(),
  include_deactivated: queryBoolean.optional(),
  limit: limitSchema.default(100),
  cursor: z.email().optional().meta({ description: 'next_cursor of the previous page' }),
});
const userList = z.object({ users: z.array(userSchema), next_cursor: z.string().nullable() });
/** The calling user; the bootstrap admin (RIPCORD_ADMIN_TOKEN) has no row, so its id is not a UUID. */
const meSchema = userSchema
  .extend({
    id: z.string().meta({ description: 'the user id, or `bootstrap-admin` for RIPCORD_ADMIN_TOKEN' }),
    created_at: z.string().meta({ description: 'empty for the bootstrap admin' }),
    updated_at: z.string().meta({ description: 'empty for the bootstrap admin' }),
  })
  .meta({ id: 'CurrentUser' });
const ADMIN = 'admin (user:write; user:read for reads)';
const ERRORS = [400, 401, 403, 404];

/** Users, their roles and grants: admin only, except reading yourself; the user commands decide who may change them. */
export function createUsersRouter(service: UserService, commands: UserCommands, triggers?: Pick<AlertTriggerService, 'names'>, tokens?: Pick<TokenService, 'names'>): Router {
  const router = Router();

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/names', tag: 'Users', auth: 'users who may read the audit log', query: namesQuery,
    summary: 'Names for actor ids as the audit log records them (users, the bootstrap admin, alert triggers `trigger:<id>` — deleted ones by the name their audit events recorded —, API tokens `token:<id>` with their kind, revoked ones too), so screens show people, triggers and tokens by name; ids of nothing known are left out',
    responses: { 200: { description: 'the names found', schema: namesSchema } }, errors: [400, 401, 403],
  }, async (req, res) => {
    authorize(res, { resource: 'audit', action: 'read' });
    const ids = [...new Set(parseInput(namesQuery, req.query, 'query').ids.split(','))];
    const [people, machines, keys] = await Promise.all([service.names(ids), triggers?.names(ids) ?? [], tokens?.names(ids) ?? []]);
    res.json({ names: [...people, ...machines, ...keys] });
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/users/me', tag: 'Users', summary: 'The user the token acts as', auth: 'any user (admin token or bootstrap)',
    responses: { 200: { description: 'the calling user (the bootstrap admin has no row and answers a synthetic user)', schema: meSchema } }, errors: [401, 403],
  }, async (_req, res) => {
    const principal = principalOf(res);
    if (principal.kind !== 'user') throw new ForbiddenError(`A ${principal.kind} token does not act as a user`);
    if (!uuidSchema.safeParse(principal.actor.id).success) {
      res.json({ id: principal.actor.id, email: '', name: principal.actor.name, role: principal.actor.role, slack_user_id: null, grants: [], created_at: '', updated_at: '', deactivated_at: null });
      return;
    }
    res.json((await service.get(principal.actor.id)) satisfies User);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/users', tag: 'Users', summary: 'List users (by email)', auth: ADMIN, query: listQuery,
    responses: { 200: { description: 'a page of users', schema: userList } }, errors: [400, 401, 403],
  }, async (req, res) => {
    authorize(res, { resource: 'user', action: 'read' });
    const query = parseInput(listQuery, req.query, 'query');
    res.json(await service.list({
      role: query.role, slackUserId: query.slack_user_id, includeDeactivated: query.include_deactivated, afterEmail: query.cursor, limit: query.limit,
    }));
  });

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/users', tag: 'Users', summary: 'Create a user (and, optionally, their grants)', auth: ADMIN, body: newUserSchema,
    responses: { 201: { description: 'the user', schema: userSchema } }, errors: [400, 401, 403, 409, 413, 415],
  }, async (req, res) => {
    const { reason, ...input } = parseInput(newUserSchema, req.body, 'body');
    res.status(201).json((await commands.create(callerOf(req, res, { reason }), input)) satisfies User);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/users/{id}', tag: 'Users', summary: 'One user', auth: 'admin, or the user themselves', params: idParams,
    responses: { 200: { description: 'the user', schema: userSchema } }, errors: ERRORS,
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const principal = principalOf(res);
    if (!(principal.kind === 'user' && principal.actor.id === id)) authorize(res, { resource: 'user', action: 'read' });
    res.json((await service.get(id)) satisfies User);
  });

  defineRoute(router, MOUNT, {
    method: 'patch', path: '/api/v1/users/{id}', tag: 'Users', summary: 'Change name, role or Slack id', auth: ADMIN, params: idParams, body: userPatchSchema,
    responses: { 200: { description: 'the user', schema: userSchema } }, errors: [...ERRORS, 409, 413, 415],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const { reason, ...patch } = parseInput(userPatchSchema, req.body, 'body');
    res.json((await commands.update(callerOf(req, res, { reason }), { id, patch })) satisfies User);
  });

  defineRoute(router, MOUNT, {
    method: 'put', path: '/api/v1/users/{id}/grants', tag: 'Users', summary: "Replace a user's grants", auth: ADMIN, params: idParams, body: grantsBodySchema,
    responses: { 200: { description: 'the user with the new grants', schema: userSchema } }, errors: [...ERRORS, 409, 413, 415],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const { grants, reason } = parseInput(grantsBodySchema, req.body, 'body');
    res.json((await commands.setGrants(callerOf(req, res, { reason }), { id, grants })) satisfies User);
  });

  defineRoute(router, MOUNT, {
    method: 'delete', path: '/api/v1/users/{id}', tag: 'Users', summary: 'Deactivate a user and revoke their tokens', auth: ADMIN, params: idParams, body: reasonBody,
    responses: { 200: { description: 'the deactivated user', schema: userSchema.extend({ revoked_tokens: z.number().int() }) } }, errors: [...ERRORS, 409],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const body = parseInput(reasonBody, req.body, 'body');
    res.json(await commands.deactivate(callerOf(req, res, { reason: body?.reason }), { id }));
  });

  return router;
}
