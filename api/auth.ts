import type { NextFunction, Request, Response } from 'express';
import type { Actor, Authenticator, Principal, Role } from '../src/auth/principal.js';
import { ForbiddenError, UnauthorizedError } from '../src/errors.js';

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

/** Authenticates every request of a router; 401 when the token is missing or unknown. */
export function authenticate(authenticator: Authenticator) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const token = tokenOf(req);
    const principal = token ? await authenticator.authenticate(token) : null;
    if (!principal) throw new UnauthorizedError();
    res.locals.principal = principal;
    next();
  };
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
