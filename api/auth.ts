import type { NextFunction, Request, Response } from 'express';
import type { Actor, Authenticator, Principal, Role } from '../src/auth/principal.js';
import type { AuthFailureLimiter } from '../src/serving/auth-failure-limiter.js';
import { decide, type AccessRequest, type Action, type Subject } from '../src/auth/rbac.js';
import { AppError, ForbiddenError, RateLimitedError, UnauthorizedError } from '../src/errors.js';
import type { RequestOrigin } from '../src/auth/request-meta.js';
import type { Caller } from '../src/auth/caller.js';

/** The bearer token of a request (Authorization: Bearer, or X-API-Key). */
export function tokenOf(req: Request): string | null {
  const header = req.get('authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1] ?? null;
  }
  return req.get('x-api-key') ?? null;
}

export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}

/**
 * The admin UI's sign-in sessions (single sign-on): a session cookie resolves to the same principal an
 * admin token of its user does. Being ambient, the cookie needs a CSRF token on every write.
 */
export interface CookieSessions {
  /** The session secret of the request's cookie, if any. */
  secretOf(req: Request): string | undefined;
  authenticate(secret: string): Promise<Principal | null>;
  csrfMatches(secret: string, presented: string | undefined): boolean;
}

/** The header a cookie-authenticated write carries its CSRF token in (GET /api/v1/sso/session gives it). */
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session secret that authenticated this request, when a cookie did. */
export function sessionSecretOf(res: Response): string | undefined {
  return res.locals.sessionSecret as string | undefined;
}

/**
 * Authenticates every request of a router: a bearer token, else a session cookie (whose writes must
 * carry the CSRF token: 403 without it); 401 when neither resolves, 429 for an address that failed too often.
 */
export function authenticate(authenticator: Authenticator, failures?: AuthFailureLimiter, sessions?: CookieSessions) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const address = req.ip ?? '';
    const token = tokenOf(req);
    const wait = failures?.retryAfterFor(address, token, authenticator) ?? 0;
    if (wait > 0) {
      res.set('retry-after', String(wait));
      throw new RateLimitedError(`Too many failed authentications from this address; retry after ${wait} s`);
    }
    // A bearer token wins over a cookie: it is not sent by the browser on its own, so it needs no CSRF token.
    const secret = token ? undefined : sessions?.secretOf(req);
    const principal = token ? await authenticator.authenticate(token) : secret ? await sessions!.authenticate(secret) : null;
    if (!principal) {
      failures?.fail(address);
      throw secret ? new UnauthorizedError('Your session has ended (signed out, timed out, or your user was deactivated): sign in again') : new UnauthorizedError();
    }
    if (secret) {
      if (!SAFE_METHODS.has(req.method) && !sessions!.csrfMatches(secret, req.get(CSRF_HEADER))) {
        throw new AppError(403, 'CSRF_TOKEN_INVALID', 'A write from a signed-in browser needs the X-CSRF-Token header of its session (GET /api/v1/sso/session)');
      }
      res.locals.sessionSecret = secret;
    }
    res.locals.principal = principal;
    next();
  };
}

/** The RBAC subject of a principal. */
export function subjectOf(principal: Principal): Subject {
  return principal.kind === 'user'
    ? { kind: 'user', role: principal.actor.role, grants: principal.grants }
    : principal.kind === 'client'
      ? { kind: 'client', environment: principal.environment }
      : { kind: 'server', environment: principal.environment };
}

/** Checks one request against RBAC; 403 naming what is missing. Returns the caller. */
export function authorize(res: Response, request: AccessRequest): Principal {
  const principal = principalOf(res);
  const decision = decide(subjectOf(principal), request);
  if (!decision.allowed) throw new ForbiddenError(decision.reason);
  return principal;
}

/** Like authorize, for routes that change things: the caller must be a user (admin tokens act as their user). */
export function authorizeUser(res: Response, request: AccessRequest): Actor {
  const principal = authorize(res, request);
  if (principal.kind !== 'user') throw new ForbiddenError(`A ${principal.kind} token can't do this; use an admin token`);
  return principal.actor;
}

/** Looks up the tags a flag's grants may be limited to; undefined for an unknown flag (which then 404s). */
export interface FlagTags {
  tagsOf(key: string): Promise<string[] | undefined>;
}

/** RBAC for `action` on one flag in one environment, with its tags looked up; returns the caller. */
export async function authorizeFlag(res: Response, flags: FlagTags | undefined, key: string, environment: string, action: Action): Promise<Principal> {
  return authorize(res, { resource: 'flag', action, environment, tags: await flags?.tagsOf(key) });
}

/** Like authorizeFlag, for changes: the caller must be a user. */
export async function authorizeFlagUser(res: Response, flags: FlagTags | undefined, key: string, environment: string, action: Action): Promise<Actor> {
  return authorizeUser(res, { resource: 'flag', action, environment, tags: await flags?.tagsOf(key) });
}

/** The acting user, for management routes; API tokens of kind client/server are refused. */
export function requireUser(res: Response, roles: readonly Role[]): Actor {
  const principal = principalOf(res);
  if (principal.kind !== 'user') throw new ForbiddenError(`A ${principal.kind} token can't manage flags; use an admin token`);
  if (!roles.includes(principal.actor.role)) {
    throw new ForbiddenError(`Role '${principal.actor.role}' may not do this; it needs one of: ${roles.join(', ')}`);
  }
  return principal.actor;
}

/** Where a request came from, for audit events. */
export function requestOrigin(req: { ip?: string; get(name: 'user-agent'): string | undefined }): RequestOrigin {
  return { ipAddress: req.ip ?? null, userAgent: req.get('user-agent') ?? null };
}

/**
 * The caller of a write, for the write commands (src/<feature>/*-commands.ts), which decide its rights
 * themselves: a user (admin tokens act as their user), or a client or server token, which RBAC refuses
 * every write and which is named by its id should anything record it. `reason` comes from the body,
 * else `X-Audit-Reason`; `bypass` from `X-Change-Request-Bypass`.
 */
export function callerOf(req: Request, res: Response, options: { reason?: string | null; bypass?: boolean } = {}): Caller {
  const principal = principalOf(res);
  const actor: Actor = principal.kind === 'user'
    ? principal.actor
    : { id: `token:${principal.tokenId}`, name: `${principal.kind} token of ${principal.environment}`, role: 'viewer' };
  const header = req.get('x-audit-reason');
  return {
    actor,
    subject: subjectOf(principal),
    ipAddress: req.ip ?? null,
    userAgent: req.get('user-agent') ?? null,
    reason: options.reason ?? (header ? header.slice(0, 500) : null),
    bypass: options.bypass ?? false,
  };
}
