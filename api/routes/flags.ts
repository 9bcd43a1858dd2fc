import { Router, type Request, type Response } from 'express';
import type { FeatureFlag, Flag, FlagListPage } from '../../src/protocol/admin-api.js';
import { z } from 'zod';
import { flagConfigInputSchemaFor, flagTypeSchema } from '../../src/domain/flag.js';
import { featureFlagSchema, flagListPageSchema, flagSchema } from '../../src/protocol/admin-api.js';
import { ValidationError } from '../../src/errors.js';
import type { FlagService } from '../../src/flags/flag-service.js';
import type { ConfigCommands, ConfigFeatureFlag } from '../../src/flags/config-commands.js';
import type { FlagCommands } from '../../src/flags/flag-commands.js';
import type { PolicyOutcome } from '../../src/change-requests/policy-outcome.js';
import { changeRequestCreatedSchema } from '../../src/change-requests/change-request-schemas.js';
import { BYPASS_HEADER, bypassOf } from './change-requests.js';
import type { LifecycleService } from '../../src/lifecycle/lifecycle-service.js';
import type { AccessCheck } from '../../src/auth/request-meta.js';
import { authorize, callerOf, principalOf } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { atLeastOneOf, cursorSchema, environmentKeySchema, flagKeySchema, limitSchema, nonBlankText, reasonSchema, tagSchema, text, VERSION_HEADER } from '../schemas.js';
import { parseInput } from '../validation.js';

export { environmentKeySchema, flagKeySchema } from '../schemas.js';

const MOUNT = '/api/v1';

export const newFlagSchema = z.strictObject({
  key: flagKeySchema,
  name: nonBlankText(200),
  description: text(2000).optional(),
  type: flagTypeSchema,
  tags: z.array(tagSchema).max(50).optional(),
  reason: reasonSchema.optional(),
});

export const flagPatchSchema = atLeastOneOf(z.strictObject({
  name: nonBlankText(200).optional(),
  description: text(2000).optional(),
  tags: z.array(tagSchema).max(50).optional(),
  version: z.number().int().nonnegative().optional().meta({ description: 'the flag version you read (or If-Match)' }),
  reason: reasonSchema.optional(),
}), ['name', 'description', 'tags']);

const versionedReason = z.strictObject({ version: z.number().int().nonnegative().optional(), reason: reasonSchema.optional() }).optional();
const copyBody = z.strictObject({
  from: environmentKeySchema.meta({ description: 'the environment to copy from' }),
  version: z.number().int().nonnegative().optional().meta({ description: "the target environment's version you read (or If-Match)" }),
  reason: reasonSchema.optional(),
});

/** The PUT body for the docs; the route checks values against the flag's type. */
const configBodyDoc = flagConfigInputSchemaFor('json').meta({
  description: "A flag's config in one environment: values must match the flag type; the kill switch changes only through its own route. Optional `version` (or If-Match) and `reason`.",
});

const listQuery = z.strictObject({
  tag: z.union([tagSchema, z.array(tagSchema).max(20)]).optional().meta({ description: 'repeat to require several tags' }),
  environment: environmentKeySchema.optional(),
  state: z.enum(['active', 'archived', 'all', 'enabled', 'disabled', 'killed']).default('active')
    .meta({ description: 'enabled/disabled/killed: in `environment`, or in any environment when none is given' }),
  q: nonBlankText(200).optional().meta({ description: 'text in the key, name or description' }),
  limit: limitSchema.default(50),
  cursor: cursorSchema.optional(),
});

const flagParams = z.object({ key: flagKeySchema });
export const flagEnvParams = z.object({ key: flagKeySchema, env: environmentKeySchema });

const REASON_HEADER = { name: 'X-Audit-Reason', description: 'why, for the audit log (or `reason` in the body)' };
const READ = 'viewer and above (flag:read), server tokens for their environment';
const WRITE = 'editor, admin, or a flag:write grant for the environment and tags';
/** Who may change one flag in one environment (rollouts, scheduled changes). */
export const FLAG_WRITE = WRITE;
/** Who may read one flag in one environment (rollouts, scheduled changes, explain). */
export const FLAG_READ = 'any user with flag:read in the environment and the flag tags';
const DELETE = 'editor, admin, or a flag:delete grant for the flag tags (no environment condition)';

/** The version a write expects: `If-Match: <version>` (quotes allowed) or a `version` body field. */
export function expectedVersion(req: Request, bodyVersion?: unknown): number | undefined {
  const header = req.get('if-match');
  const raw = header ?? bodyVersion;
  if (raw === undefined) return undefined;
  const version = Number(String(raw).replace(/^W\//, '').replace(/"/g, ''));
  if (!Number.isSafeInteger(version) || version < 0 || String(raw).trim() === '') {
    throw new ValidationError('Invalid version', [{ path: header !== undefined ? 'headers.if-match' : 'body.version', message: 'must be a version number' }]);
  }
  return version;
}

/** A config write's answer: the new config (its version as ETag), or 202 with the change request the policy made of it. */
function answerConfig(res: Response, outcome: PolicyOutcome<ConfigFeatureFlag>): void {
  if (outcome.kind === 'requested') res.status(202).json(outcome.created);
  else res.set('ETag', `"${outcome.value.version}"`).json(outcome.value satisfies FeatureFlag);
}

/** Server tokens read their own environment only; users read what RBAC lets them. */
function readScope(res: Response): { guard: AccessCheck; only?: string } {
  const principal = principalOf(res);
  const guard: AccessCheck = (request) => void authorize(res, request);
  return principal.kind === 'server' ? { guard, only: principal.environment } : { guard };
}

/** Flag definitions and per-environment configs; the reads carry each flag's lifecycle stage when given the service. */
export function createFlagsRouter(service: FlagService, commands: { flags: FlagCommands; configs: ConfigCommands }, lifecycle?: LifecycleService): Router {
  const router = Router();

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/flags', tag: 'Flags', summary: 'Create a flag; every environment gets an off config',
    auth: 'editor, admin, or a flag:write grant without environment condition (matching the new tags)', body: newFlagSchema,
    responses: { 201: { description: 'the flag with its configs', schema: flagSchema } }, errors: [400, 401, 403, 409, 413, 415],
  }, async (req, res) => {
    const { reason, ...input } = parseInput(newFlagSchema, req.body, 'body');
    res.status(201).json((await commands.flags.create(callerOf(req, res, { reason }), input)) satisfies Flag);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/flags', tag: 'Flags', summary: 'List flags by key, filtered and paginated', auth: READ, query: listQuery,
    responses: { 200: { description: 'a page of flags with a per-environment summary', schema: flagListPageSchema } },
    errors: [400, 401, 403],
  }, async (req, res) => {
    const { guard, only } = readScope(res);
    const query = parseInput(listQuery, req.query, 'query');
    const tags = query.tag === undefined ? undefined : Array.isArray(query.tag) ? query.tag : [query.tag];
    const page = await service.listFlags({ ...query, tags, environment: only ?? query.environment }, guard);
    // A lifecycle is derived from every environment (what each serves, its last evaluation): a reader
    // confined to one environment (a server token) gets none.
    const stages = only === undefined ? await lifecycle?.ofFlags(page.flags.map((flag) => flag.key)) : undefined;
    res.json({ ...page, flags: page.flags.map((flag) => ({ ...flag, lifecycle: stages?.get(flag.key) })) } satisfies FlagListPage);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/flags/{key}', tag: 'Flags', summary: 'A flag and its config per environment (archived flags too)', auth: READ,
    params: flagParams, responses: { 200: { description: 'the flag; ETag is its version', schema: flagSchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { guard, only } = readScope(res);
    const { key } = parseInput(flagParams, req.params, 'params');
    const flag: Flag = { ...(await service.getFlag(key, guard, only)), lifecycle: only === undefined ? await lifecycle?.ofFlag(key) : undefined };
    res.set('ETag', `"${flag.version}"`).json(flag);
  });

  defineRoute(router, MOUNT, {
    method: 'patch', path: '/api/v1/flags/{key}', tag: 'Flags', summary: 'Change name, description or tags', auth: `${WRITE} (on the old and the new tags)`,
    params: flagParams, body: flagPatchSchema, headers: [VERSION_HEADER, REASON_HEADER],
    responses: { 200: { description: 'the flag', schema: flagSchema } }, errors: [400, 401, 403, 404, 409, 412, 413, 415],
  }, async (req, res) => {
    const { key } = parseInput(flagParams, req.params, 'params');
    const { version, reason, ...patch } = parseInput(flagPatchSchema, req.body, 'body');
    const flag: Flag = await commands.flags.update(callerOf(req, res, { reason }), { flagKey: key, patch, expectedVersion: expectedVersion(req, version) });
    res.set('ETag', `"${flag.version}"`).json(flag);
  });

  for (const [verb, summary] of [['archive', 'Archive a flag: it stops being served (FLAG_NOT_FOUND) in every environment'], ['unarchive', 'Bring an archived flag back']] as const) {
    defineRoute(router, MOUNT, {
      method: 'post', path: `/api/v1/flags/{key}/${verb}`, tag: 'Flags', summary, auth: DELETE,
      params: flagParams, body: versionedReason, headers: [VERSION_HEADER, REASON_HEADER],
      responses: { 200: { description: 'the flag', schema: flagSchema } }, errors: [400, 401, 403, 404, 409, 412],
    }, async (req, res) => {
      const { key } = parseInput(flagParams, req.params, 'params');
      const body = parseInput(versionedReason, req.body, 'body');
      const command = { flagKey: key, expectedVersion: expectedVersion(req, body?.version) };
      const flag: Flag = await commands.flags[verb](callerOf(req, res, { reason: body?.reason }), command);
      res.set('ETag', `"${flag.version}"`).json(flag);
    });
  }

  defineRoute(router, MOUNT, {
    method: 'delete', path: '/api/v1/flags/{key}', tag: 'Flags', summary: 'Delete an archived flag for good (its audit trail stays)', auth: DELETE,
    params: flagParams, body: versionedReason, headers: [VERSION_HEADER, REASON_HEADER],
    responses: { 204: { description: 'deleted' } }, errors: [400, 401, 403, 404, 409, 412],
  }, async (req, res) => {
    const { key } = parseInput(flagParams, req.params, 'params');
    const body = parseInput(versionedReason, req.body, 'body');
    await commands.flags.delete(callerOf(req, res, { reason: body?.reason }), { flagKey: key, expectedVersion: expectedVersion(req, body?.version) });
    res.status(204).end();
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/flags/{key}/environments/{env}', tag: 'Flags', summary: 'A flag in one environment (FeatureFlag: its config fields inlined, with its version)', auth: READ,
    params: flagEnvParams, responses: { 200: { description: 'the flag in the environment; ETag is the version', schema: featureFlagSchema } },
    errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { guard } = readScope(res);
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const flag: FeatureFlag = await service.getConfig(key, env, guard);
    res.set('ETag', `"${flag.version}"`).json(flag);
  });

  defineRoute(router, MOUNT, {
    method: 'put', path: '/api/v1/flags/{key}/environments/{env}', tag: 'Flags', summary: "Replace a flag's config in one environment", auth: WRITE,
    params: flagEnvParams, body: configBodyDoc, headers: [VERSION_HEADER, REASON_HEADER, BYPASS_HEADER],
    responses: {
      200: { description: 'the new config; ETag is its version', schema: featureFlagSchema },
      202: { description: "the environment's change policy covers this write: it was NOT applied; it waits as a change request", schema: changeRequestCreatedSchema },
    },
    errors: [400, 401, 403, 404, 409, 412, 413, 415],
  }, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
      throw new ValidationError('Invalid request body', [{ path: 'body', message: 'expected a JSON object' }]);
    }
    const { version, reason, ...body } = req.body as Record<string, unknown>;
    const why = reason === undefined ? undefined : parseInput(reasonSchema, reason, 'body');
    const caller = callerOf(req, res, { reason: why, bypass: bypassOf(req) });
    answerConfig(res, await commands.configs.put(caller, { flagKey: key, environment: env, config: body, expectedVersion: expectedVersion(req, version) }));
  });

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/flags/{key}/environments/{env}/copy', tag: 'Flags',
    summary: "Copy a flag's config from another environment into this one (the kill switch stays as it is)",
    auth: `${WRITE} here, and flag:read on the source`, params: flagEnvParams, body: copyBody, headers: [VERSION_HEADER, REASON_HEADER, BYPASS_HEADER],
    responses: {
      200: { description: 'the new config of the target environment', schema: featureFlagSchema },
      202: { description: "the target environment's change policy covers this write: it was NOT applied; it waits as a change request", schema: changeRequestCreatedSchema },
    },
    errors: [400, 401, 403, 404, 409, 412, 413, 415],
  }, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const { from, version, reason } = parseInput(copyBody, req.body, 'body');
    const caller = callerOf(req, res, { reason, bypass: bypassOf(req) });
    answerConfig(res, await commands.configs.copy(caller, { flagKey: key, from, environment: env, expectedVersion: expectedVersion(req, version) }));
  });

  return router;
}
