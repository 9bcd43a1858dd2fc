import type { Actor, Role } from './principal.js';
import { decide, type AccessRequest, type Subject } from './rbac.js';
import type { RequestMeta } from './request-meta.js';
import { ForbiddenError } from '../errors.js';

/**
 * Whoever asks for a change, through any entry point (an HTTP route, the admin UI, a Slack command or
 * button, an alert trigger's hook): who they are for the audit log, what RBAC lets them do (a user's
 * role and grants, or a token's kind and environment), where they came from, why, and whether they
 * ask to bypass the change policy. The write commands decide everything from this alone, so every
 * entry point gets the same decision for the same caller.
 */
export interface Caller {
  actor: Actor;
  subject: Subject;
  ipAddress?: string | null;
  userAgent?: string | null;
  /** Why, as the caller said it; a bypass requires one. */
  reason?: string | null;
  /** Apply a write the environment's change policy covers directly (change_request:bypass and a reason). */
  bypass?: boolean;
}

/** Throws 403 naming what is missing unless the caller may make this request. */
export function requireAccess(caller: Pick<Caller, 'subject'>, request: AccessRequest): void {
  const decision = decide(caller.subject, request);
  if (!decision.allowed) throw new ForbiddenError(decision.reason);
}

/** Throws 403 unless the caller is a user (admin tokens act as their user): client and server tokens change nothing. */
export function requireUserCaller(caller: Pick<Caller, 'subject'>): void {
  if (caller.subject.kind !== 'user') throw new ForbiddenError(`A ${caller.subject.kind} token can't do this; use an admin token`);
}

/** Throws 403 unless the caller may make this request and is a user: the refusal names the RBAC rule first, then the token kind. */
export function requireUserAccess(caller: Pick<Caller, 'subject'>, request: AccessRequest): void {
  requireAccess(caller, request);
  requireUserCaller(caller);
}

/** Throws 403 unless the caller is a user holding one of these roles (rights no grant gives: webhooks, change policies, templates). */
export function requireRole(caller: Pick<Caller, 'subject'>, roles: readonly Role[]): void {
  const { subject } = caller;
  if (subject.kind !== 'user') throw new ForbiddenError(`A ${subject.kind} token can't manage flags; use an admin token`);
  if (!roles.includes(subject.role)) throw new ForbiddenError(`Role '${subject.role}' may not do this; it needs one of: ${roles.join(', ')}`);
}

/**
 * What a write records of its caller (who, from where, why, and marks such as a change-policy bypass),
 * for a service the command calls once it has decided the caller's rights: no RBAC hooks, the command
 * holds that rule.
 */
export function writeMetaOf(caller: Caller, auditMetadata?: Record<string, unknown>): RequestMeta {
  return { actor: caller.actor, ipAddress: caller.ipAddress ?? null, userAgent: caller.userAgent ?? null, reason: caller.reason ?? null, auditMetadata };
}
