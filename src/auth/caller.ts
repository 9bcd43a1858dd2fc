import type { Actor } from './principal.js';
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

/** The RequestMeta a service takes, with RBAC for the parts only it can resolve (a flag's tags) decided from the caller's subject. */
export function metaOfCaller(caller: Caller): RequestMeta {
  return {
    actor: caller.actor,
    ipAddress: caller.ipAddress ?? null,
    userAgent: caller.userAgent ?? null,
    reason: caller.reason ?? null,
    guard: (request) => requireAccess(caller, request),
    allows: (request) => decide(caller.subject, request).allowed,
  };
}
