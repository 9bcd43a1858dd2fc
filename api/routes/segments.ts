import express, { Router, type Request, type Response } from 'express';
import type { Segment, SegmentPage } from '../../src/protocol/admin-api.js';
import { z } from 'zod';
import { conditionSchema } from '../../src/domain/flag.js';
import { AppError } from '../../src/errors.js';
import type { PolicyOutcome } from '../../src/change-requests/policy-outcome.js';
import type { SegmentCommands } from '../../src/segments/segment-commands.js';
import type { SegmentService } from '../../src/segments/segment-service.js';
import { changeRequestCreatedSchema } from '../../src/change-requests/change-request-schemas.js';
import { segmentPageSchema, segmentSchema } from '../../src/protocol/admin-api.js';
import { authorize, callerOf } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { cursorSchema, limitSchema, nonBlankText, oneLineText, reasonSchema, segmentKeySchema, text, VERSION_HEADER } from '../schemas.js';
import { parseInput } from '../validation.js';
import { BYPASS_HEADER, bypassOf } from './change-requests.js';
import { expectedVersion } from './flags.js';

const MOUNT = '/api/v1';
const memberSchema = oneLineText(256);
const MAX_MEMBERS = 1_000_000;
const common = {
  key: segmentKeySchema,
  name: text(256).trim().optional(),
  description: text(2048).optional(),
  reason: reasonSchema.optional(),
};

export const newSegmentSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...common, kind: z.literal('rule'), conditions: z.array(conditionSchema).min(1).max(50) }),
  z.strictObject({ ...common, kind: z.literal('list'), members: z.array(memberSchema).max(MAX_MEMBERS).optional() }),
]);

export const segmentUpdateSchema = z
  .strictObject({
    name: text(256).trim().optional(),
    description: text(2048).optional(),
    conditions: z.array(conditionSchema).min(1).max(50).optional().meta({ description: 'rule segments' }),
    members: z.array(memberSchema).max(MAX_MEMBERS).optional().meta({ description: 'list segments: replaces every member' }),
    version: z.number().int().nonnegative().optional(),
    reason: reasonSchema.optional(),
  })
  .refine((u) => !(u.conditions && u.members), 'give conditions (rule segments) or members (list segments), not both')
  .meta({ not: { required: ['conditions', 'members'] } });

export const memberChangeSchema = z
  .strictObject({
    add: z.array(memberSchema).max(MAX_MEMBERS).optional(),
    remove: z.array(memberSchema).max(MAX_MEMBERS).optional(),
    version: z.number().int().nonnegative().optional(),
    reason: reasonSchema.optional(),
  })
  .refine((c) => (c.add?.length ?? 0) + (c.remove?.length ?? 0) > 0, 'give members to add or remove')
  .meta({ anyOf: ['add', 'remove'].map((field) => ({ required: [field], properties: { [field]: { minItems: 1 } } })) });

const keyParams = z.object({ key: segmentKeySchema });
const memberParams = z.object({ key: segmentKeySchema, member: memberSchema });
const listQuery = z.strictObject({
  kind: z.enum(['rule', 'list']).optional(),
  q: nonBlankText(200).optional(),
  limit: limitSchema.default(100),
  cursor: cursorSchema.optional(),
});
const pageQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(10_000).default(1_000), cursor: cursorSchema.optional() });
const versionedReason = z.strictObject({ version: z.number().int().nonnegative().optional(), reason: reasonSchema.optional() }).optional();

/** GET of one segment adds where it is used, so a reader sees what a change or delete would touch. */
const segmentWithUsageSchema = segmentSchema
  .extend({ used_by: z.array(z.object({ flag: z.string(), environment: z.string(), archived: z.boolean() })) })
  .meta({ id: 'SegmentWithUsage' });

const READ = 'viewer and above (segment:read), server tokens';
const WRITE = 'editor, admin, or an unconditioned flag:write grant';

/** A member upload: JSON `{members: [...]}`, or text/plain with one targeting key per line (for large lists). */
function membersFromBody(req: Request): string[] {
  if (typeof req.body === 'string') {
    const members = req.body.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
    return parseInput(z.array(memberSchema).max(MAX_MEMBERS), members, 'body');
  }
  if (!req.is('application/json') && req.body === undefined && req.get('content-length') !== '0') {
    throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send application/json {"members": [...]} or text/plain with one member per line');
  }
  return parseInput(z.strictObject({ members: z.array(memberSchema).max(MAX_MEMBERS) }), req.body, 'body').members;
}

/** The 202 of a segment edit a change policy covers (ADR 0007, "Segment edits"). */
const REQUESTED = {
  description: "a change policy of an environment where a live flag config targets this segment covers segment edits: it was NOT applied; it waits as a change request",
  schema: changeRequestCreatedSchema,
};

/** A segment edit's answer: the segment, or 202 with the change request a policy made of it. */
function answer(res: Response, outcome: PolicyOutcome<unknown>): void {
  if (outcome.kind === 'requested') res.status(202).json(outcome.created);
  else res.json(outcome.value);
}

/**
 * Rule and list segments; list members are paged, changed in batches, or replaced from a text upload.
 * Edits and deletes are the segment commands' (rights, change policies); creating a segment never is covered.
 */
export function createSegmentsRouter(service: SegmentService, commands: SegmentCommands): Router {
  const router = Router();
  const guardOf = (res: Parameters<typeof authorize>[0]) => (request: Parameters<typeof authorize>[1]) => void authorize(res, request);

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/segments', tag: 'Segments', summary: 'Create a rule segment (conditions) or a list segment (members)', auth: WRITE,
    body: newSegmentSchema, responses: { 201: { description: 'the segment', schema: segmentSchema } }, errors: [400, 401, 403, 409, 413, 415],
  }, async (req, res) => {
    const { reason, ...input } = parseInput(newSegmentSchema, req.body, 'body');
    res.status(201).json((await commands.create(callerOf(req, res, { reason }), input)) satisfies Segment);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/segments', tag: 'Segments', summary: 'List segments by key', auth: READ, query: listQuery,
    responses: { 200: { description: 'a page of segments', schema: segmentPageSchema } },
    errors: [400, 401, 403],
  }, async (req, res) => {
    const query = parseInput(listQuery, req.query, 'query');
    res.json((await service.list(query, guardOf(res))) satisfies SegmentPage);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/segments/{key}', tag: 'Segments', summary: 'A segment and the flag configs that use it', auth: READ, params: keyParams,
    responses: { 200: { description: 'the segment with the flag configs that target it', schema: segmentWithUsageSchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { key } = parseInput(keyParams, req.params, 'params');
    const segment = await service.get(key, guardOf(res));
    res.set('ETag', `"${segment.version}"`).json(segment);
  });

  defineRoute(router, MOUNT, {
    method: 'put', path: '/api/v1/segments/{key}', tag: 'Segments', summary: "Change a segment's name, description, conditions or (replace) members",
    auth: WRITE, params: keyParams, body: segmentUpdateSchema, headers: [VERSION_HEADER, BYPASS_HEADER],
    responses: { 200: { description: 'the segment', schema: segmentSchema }, 202: REQUESTED }, errors: [400, 401, 403, 404, 409, 412, 413, 415],
  }, async (req, res) => {
    const { key } = parseInput(keyParams, req.params, 'params');
    const { version, reason, ...update } = parseInput(segmentUpdateSchema, req.body, 'body');
    const caller = callerOf(req, res, { reason, bypass: bypassOf(req) });
    answer(res, await commands.update(caller, { segmentKey: key, update, expectedVersion: expectedVersion(req, version) }));
  });

  defineRoute(router, MOUNT, {
    method: 'delete', path: '/api/v1/segments/{key}', tag: 'Segments', summary: 'Delete a segment no flag uses (409 names the flags that do)',
    auth: 'editor, admin, or an unconditioned flag:delete grant', params: keyParams, body: versionedReason, headers: [VERSION_HEADER, BYPASS_HEADER],
    responses: { 204: { description: 'deleted' }, 202: REQUESTED }, errors: [400, 401, 403, 404, 409, 412],
  }, async (req, res) => {
    const { key } = parseInput(keyParams, req.params, 'params');
    const body = parseInput(versionedReason, req.body, 'body');
    const caller = callerOf(req, res, { reason: body?.reason, bypass: bypassOf(req) });
    const deleted = await commands.delete(caller, { segmentKey: key, expectedVersion: expectedVersion(req, body?.version) });
    if (deleted.kind === 'requested') res.status(202).json(deleted.created);
    else res.status(204).end();
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/segments/{key}/members', tag: 'Segments', summary: "A page of a list segment's members", auth: READ,
    params: keyParams, query: pageQuery,
    responses: { 200: { description: 'members in order', schema: z.object({ members: z.array(z.string()), user_count: z.number().int().nullable(), next_cursor: z.string().nullable() }) } },
    errors: [400, 401, 403, 404, 409],
  }, async (req, res) => {
    const { key } = parseInput(keyParams, req.params, 'params');
    const query = parseInput(pageQuery, req.query, 'query');
    res.json(await service.members(key, query, guardOf(res)));
  });

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/segments/{key}/members', tag: 'Segments', summary: 'Add and remove members of a list segment', auth: WRITE,
    params: keyParams, body: memberChangeSchema, headers: [VERSION_HEADER, BYPASS_HEADER],
    responses: {
      200: { description: 'the segment, with how many were added and removed', schema: segmentSchema.extend({ added: z.number().int(), removed: z.number().int() }) },
      202: REQUESTED,
    },
    errors: [400, 401, 403, 404, 409, 412, 413, 415],
  }, async (req, res) => {
    const { key } = parseInput(keyParams, req.params, 'params');
    const { version, reason, ...change } = parseInput(memberChangeSchema, req.body, 'body');
    const caller = callerOf(req, res, { reason, bypass: bypassOf(req) });
    answer(res, await commands.changeMembers(caller, { segmentKey: key, ...change, expectedVersion: expectedVersion(req, version) }));
  });

  // Large lists: text/plain, one member per line, up to 32 MB (JSON bodies stay limited to 256 kB).
  router.put('/segments/:key/members', express.text({ type: 'text/plain', limit: '32mb' }));
  defineRoute(router, MOUNT, {
    method: 'put', path: '/api/v1/segments/{key}/members', tag: 'Segments',
    summary: 'Replace every member of a list segment: JSON {members} or text/plain with one member per line (up to 32 MB)',
    auth: WRITE, params: keyParams, body: z.strictObject({ members: z.array(memberSchema).max(MAX_MEMBERS) }), bodyContentTypes: ['text/plain'],
    headers: [VERSION_HEADER, { name: 'X-Audit-Reason', description: 'why, for the audit log' }, BYPASS_HEADER],
    responses: { 200: { description: 'the segment', schema: segmentSchema }, 202: REQUESTED }, errors: [400, 401, 403, 404, 409, 412, 413, 415],
  }, async (req, res) => {
    const { key } = parseInput(keyParams, req.params, 'params');
    const members = membersFromBody(req);
    const caller = callerOf(req, res, { bypass: bypassOf(req) });
    answer(res, await commands.update(caller, { segmentKey: key, update: { members }, expectedVersion: expectedVersion(req, undefined), source: 'replace_members' }));
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/segments/{key}/members/{member}', tag: 'Segments',
    summary: 'Is this targeting key a member? One SISMEMBER on the precomputed Redis set', auth: READ, params: memberParams,
    responses: { 200: { description: 'membership', schema: z.object({ member: z.string(), in_segment: z.boolean(), source: z.enum(['redis', 'postgres']) }) } },
    errors: [400, 401, 403, 404, 409],
  }, async (req, res) => {
    const { key, member } = parseInput(memberParams, req.params, 'params');
    res.json(await service.isMember(key, member, guardOf(res)));
  });

  return router;
}
