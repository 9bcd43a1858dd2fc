import { z } from 'zod';
import { textMatching } from '../domain/text.js';

/**
 * Who may do what: pure decisions from a subject (a user's role and grants, or an API token's kind
 * and environment) and a request (resource, action, environment, flag tags). No I/O, so every case
 * is unit-tested; routes call it through api/auth.ts.
 */

import type { Role } from '../domain/role.js';

export { ROLES, roleSchema, type Role } from '../domain/role.js';

/** Resources a grant may name. */
export const grantResourceSchema = z.enum(['flag', 'environment', 'audit']);
export const actionSchema = z.enum(['read', 'write', 'delete', 'kill_switch']);
export type GrantResource = z.infer<typeof grantResourceSchema>;
export type Action = z.infer<typeof actionSchema>;

const environmentKey = textMatching(63, /^[a-z0-9][a-z0-9_-]{0,62}$/, 'an environment key such as production');
const tag = textMatching(64, /^[\w.:-]{1,64}$/, 'a tag of letters, digits and . : - _');

/** A per-user grant, added to what the user's role allows. Conditions narrow it; absent means any. */
export const grantSchema = z
  .strictObject({
    resource: grantResourceSchema,
    action: actionSchema,
    conditions: z
      .strictObject({
        environments: z.array(environmentKey).min(1).max(50).optional(),
        flag_tags: z.array(tag).min(1).max(50).optional(),
      })
      .default({}),
  })
  .superRefine((grant, ctx) => {
    if (grant.action === 'kill_switch' && grant.resource !== 'flag') {
      ctx.addIssue({ code: 'custom', path: ['action'], message: 'kill_switch applies to the flag resource only' });
    }
    if (grant.resource === 'audit' && grant.action !== 'read') {
      ctx.addIssue({ code: 'custom', path: ['action'], message: 'the audit log can only be read' });
    }
    if (grant.resource !== 'flag' && grant.conditions.flag_tags) {
      ctx.addIssue({ code: 'custom', path: ['conditions', 'flag_tags'], message: 'flag_tags applies to the flag resource only' });
    }
  })
  // The same three rules for the OpenAPI document, so that a generated client (or fuzzer) can satisfy them.
  .meta({
    anyOf: [
      { properties: { resource: { const: 'flag' } } },
      { properties: { resource: { const: 'environment' }, action: { enum: ['read', 'write', 'delete'] }, conditions: { properties: { flag_tags: false } } } },
      { properties: { resource: { const: 'audit' }, action: { const: 'read' }, conditions: { properties: { flag_tags: false } } } },
    ],
  });
export type Grant = z.infer<typeof grantSchema>;

/** What a request touches. `segment` and `user` are not grantable: segments follow flag rights, users are admin-only. */
export type Resource = GrantResource | 'segment' | 'user';

export interface AccessRequest {
  resource: Resource;
  action: Action;
  /** The environment the request acts in; absent for requests that span environments (create, archive, list). */
  environment?: string;
  /** The tags of the flag the request acts on (old and new when tags change). */
  tags?: readonly string[];
}

export type Subject =
  | { kind: 'user'; role: Role; grants: readonly Grant[] }
  | { kind: 'client'; environment: string }
  | { kind: 'server'; environment: string };

export type Decision = { allowed: true } | { allowed: false; reason: string };

type Permission = `${Resource}:${Action}`;

const VIEWER: Permission[] = ['flag:read', 'environment:read', 'audit:read', 'segment:read'];

/** What each role allows everywhere, before grants. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  viewer: new Set(VIEWER),
  editor: new Set([...VIEWER, 'flag:write', 'flag:delete', 'environment:write', 'segment:write', 'segment:delete']),
  emergency_responder: new Set([...VIEWER, 'flag:kill_switch']),
  admin: new Set(
    (['flag', 'environment', 'audit', 'segment', 'user'] as const).flatMap((r) =>
      (['read', 'write', 'delete', 'kill_switch'] as const).map((a): Permission => `${r}:${a}`),
    ),
  ),
};

const ALLOW: Decision = { allowed: true };
const deny = (reason: string): Decision => ({ allowed: false, reason });

/** True when a grant covers the request: same resource (segments count as flags), a stronger-or-equal action, conditions met. */
export function grantCovers(grant: Grant, request: AccessRequest): boolean {
  const resource = request.resource === 'segment' ? 'flag' : request.resource;
  if (grant.resource !== resource) return false;
  // Any right on a scope includes reading it.
  if (grant.action !== request.action && request.action !== 'read') return false;
  const { environments, flag_tags: tags } = grant.conditions;
  if (environments && (request.environment === undefined || !environments.includes(request.environment))) return false;
  if (tags) {
    // Every tag set the request touches (old and new) must meet the condition: a grant can't be escaped by retagging.
    if (request.resource === 'segment' || !request.tags || !request.tags.some((t) => tags.includes(t))) return false;
  }
  return true;
}

function describe(request: AccessRequest): string {
  const where = request.environment ? ` in '${request.environment}'` : '';
  return `${request.action} on ${request.resource}${where}`;
}

/** Decides one request. Deny reasons are fit to show the caller. */
export function decide(subject: Subject, request: AccessRequest): Decision {
  if (subject.kind === 'client') return deny('a client token may only evaluate flags');
  if (subject.kind === 'server') {
    if (request.action !== 'read' || (request.resource !== 'flag' && request.resource !== 'segment')) {
      return deny('a server token may only evaluate, stream and read flag definitions');
    }
    if (request.environment !== undefined && request.environment !== subject.environment) {
      return deny(`this server token belongs to '${subject.environment}', not '${request.environment}'`);
    }
    return ALLOW;
  }
  if (ROLE_PERMISSIONS[subject.role].has(`${request.resource}:${request.action}`)) return ALLOW;
  if (request.resource !== 'user' && subject.grants.some((grant) => grantCovers(grant, request))) return ALLOW;
  return deny(`role '${subject.role}' and its grants do not allow ${describe(request)}`);
}

/**
 * `change_request:bypass`: apply a write an environment's change policy covers directly, with a
 * required reason (audited as a bypass). Not grantable: admins hold it, and emergency responders, whose
 * only covered write is releasing a kill switch they pulled in an incident. It never widens what a
 * subject may write: RBAC is checked as for any write.
 */
export const CHANGE_REQUEST_BYPASS_ROLES: ReadonlySet<Role> = new Set(['admin', 'emergency_responder']);

export function canBypassChangeRequests(subject: Subject): boolean {
  return subject.kind === 'user' && CHANGE_REQUEST_BYPASS_ROLES.has(subject.role);
}

/** Sugar for tests and callers that need a boolean. */
export function isAllowed(subject: Subject, request: AccessRequest): boolean {
  return decide(subject, request).allowed;
}
