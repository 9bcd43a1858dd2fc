import { Router, type Request } from 'express';
import { z } from 'zod';
import {
  changePolicySchema, changeRequestPageSchema, changeRequestSchema, changeRequestStatusSchema,
  type ChangePolicy, type ChangeRequest, type ChangeRequestPage,
} from '../../src/change-requests/change-request-schemas.js';
import type { ChangeRequestService } from '../../src/change-requests/change-request-service.js';
import type { ChangeRequestCommands } from '../../src/change-requests/change-request-commands.js';
import type { ChangePolicyCommands } from '../../src/change-requests/change-policy-commands.js';
import { authorizeUser, callerOf } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { environmentKeySchema, flagKeySchema, segmentKeySchema } from '../schemas.js';
import { changePolicyInputSchema, changeRequestCommentSchema, changeRequestRejectSchema } from '../../src/change-requests/change-request-inputs.js';
import { parseInput } from '../validation.js';

const MOUNT = '/api/v1';

/** `X-Change-Request-Bypass: true`: apply a covered write directly (change_request:bypass, with a reason). */
export const BYPASS_HEADER = {
  name: 'X-Change-Request-Bypass',
  description: "`true`: apply directly although the environment's change policy covers this write; needs change_request:bypass (admin, emergency_responder) and a reason; audited as a bypass",
  schema: z.enum(['true']),
};

/** Whether a write asks to bypass the change policy; 400 naming the header for any other value. */
export function bypassOf(req: Request): boolean {
  const value = req.get('x-change-request-bypass');
  if (value === undefined) return false;
  return parseInput(z.object({ 'x-change-request-bypass': BYPASS_HEADER.schema }), { 'x-change-request-bypass': value }, 'headers')['x-change-request-bypass'] === 'true';
}

const envParams = z.object({ env: environmentKeySchema });
const idParams = z.object({ id: z.uuid() });
const policyBody = changePolicyInputSchema;
const listQuery = z.strictObject({
  environment: environmentKeySchema.optional(),
  flag: flagKeySchema.optional(),
  segment: segmentKeySchema.optional(),
  status: changeRequestStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const approveBody = changeRequestCommentSchema;
const rejectBody = changeRequestRejectSchema;

const USERS = 'any user (viewer and above)';
const APPROVERS = "users the environment's policy allows (its listed users, else its role and admins, else anyone who may write the flag there); never the author";


/**
 * Change policies (per environment) and change requests: list, read, and through the commands (which
 * decide the caller's rights) set a policy, approve, reject, withdraw.
 */
export function createChangeRequestsRouter(service: ChangeRequestService, policies: ChangePolicyCommands, commands: ChangeRequestCommands): Router {
  const router = Router();
  const policyPath = '/api/v1/environments/{env}/change-policy';

  defineRoute(router, MOUNT, {
    method: 'get', path: policyPath, tag: 'Change requests', summary: "An environment's change policy (required approvals 0: off)", auth: USERS,
    params: envParams, responses: { 200: { description: 'the policy', schema: changePolicySchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    authorizeUser(res, { resource: 'flag', action: 'read' });
    const { env } = parseInput(envParams, req.params, 'params');
    res.json((await service.getPolicy(env)) satisfies ChangePolicy);
  });

  defineRoute(router, MOUNT, {
    method: 'put', path: policyPath, tag: 'Change requests', summary: "Set an environment's change policy (audited)", auth: 'admin',
    params: envParams, body: policyBody, responses: { 200: { description: 'the policy', schema: changePolicySchema } }, errors: [400, 401, 403, 404, 413, 415],
  }, async (req, res) => {
    const { env } = parseInput(envParams, req.params, 'params');
    const { reason, ...policy } = parseInput(policyBody, req.body, 'body');
    res.json((await policies.set(callerOf(req, res, { reason }), { environment: env, policy })) satisfies ChangePolicy);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/change-requests', tag: 'Change requests', summary: 'Change requests, newest first, filtered by environment (any of a request’s environments), flag, segment and status',
    auth: USERS, query: listQuery, responses: { 200: { description: 'the requests', schema: changeRequestPageSchema } }, errors: [400, 401, 403],
  }, async (req, res) => {
    authorizeUser(res, { resource: 'flag', action: 'read' });
    res.json((await service.list(parseInput(listQuery, req.query, 'query'))) satisfies ChangeRequestPage);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/change-requests/{id}', tag: 'Change requests', summary: 'One change request with its diff and approvals',
    auth: USERS, params: idParams, responses: { 200: { description: 'the request', schema: changeRequestSchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    authorizeUser(res, { resource: 'flag', action: 'read' });
    const { id } = parseInput(idParams, req.params, 'params');
    res.json((await service.get(id)) satisfies ChangeRequest);
  });

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/change-requests/{id}/approve', tag: 'Change requests',
    summary: 'Approve: the Nth distinct approval starts the changeRequest workflow that applies it (at once or at apply_at)', auth: APPROVERS,
    params: idParams, body: approveBody, responses: { 200: { description: 'the request (status approved once N approvals are in)', schema: changeRequestSchema } },
    errors: [400, 401, 403, 404, 409, 413, 415],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const body = parseInput(approveBody, req.body, 'body');
    res.json((await commands.approve(callerOf(req, res), { id, comment: body?.comment ?? null })) satisfies ChangeRequest);
  });

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/change-requests/{id}/reject', tag: 'Change requests', summary: 'Reject a pending request, with a comment', auth: APPROVERS,
    params: idParams, body: rejectBody, responses: { 200: { description: 'the rejected request', schema: changeRequestSchema } },
    errors: [400, 401, 403, 404, 409, 413, 415],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const { comment } = parseInput(rejectBody, req.body, 'body');
    res.json((await commands.reject(callerOf(req, res), { id, comment })) satisfies ChangeRequest);
  });

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/change-requests/{id}/withdraw', tag: 'Change requests', summary: 'Withdraw your own request before it applies',
    auth: 'the author', params: idParams, body: approveBody, responses: { 200: { description: 'the withdrawn request', schema: changeRequestSchema } },
    errors: [400, 401, 403, 404, 409, 413, 415],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const body = parseInput(approveBody, req.body, 'body');
    res.json((await commands.withdraw(callerOf(req, res), { id, comment: body?.comment ?? null })) satisfies ChangeRequest);
  });

  return router;
}
