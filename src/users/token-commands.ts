import { requireUserAccess, writeMetaOf, type Caller } from '../auth/caller.js';
import { isAllowed } from '../auth/rbac.js';
import { uuidPattern } from '../domain/text.js';
import type { TokenRecord } from './token-store.js';
import type { NewTokenInput, TokenListQuery, TokenService } from './token-service.js';

/** Every token command needs a user: client and server tokens manage no tokens (the refusal names the RBAC rule first). */
function requireTokenUser(caller: Caller): void {
  requireUserAccess(caller, { resource: 'flag', action: 'read' });
}

/** Admins see and revoke every token; other users their own and those they made. */
function managesEveryToken(caller: Caller): boolean {
  return isAllowed(caller.subject, { resource: 'user', action: 'write' });
}

/**
 * API tokens, as every entry point asks for them (the HTTP routes, so the admin UI). The commands
 * decide in one place who may: a client or server token needs environment:write in its environment
 * (editor, admin, or a grant); an admin token acts as its user, so anyone may make one for themselves
 * and only admins (user:write) for someone else; admins see and revoke every token, other users
 * their own and those they made; client and server tokens manage none. The token service then checks
 * the input, writes, and records the one audit event naming the caller.
 */
export function createTokenCommands(deps: { tokens: TokenService }) {
  /** Who may see or revoke this token. */
  const mayManage = (caller: Caller) => (token: TokenRecord) =>
    managesEveryToken(caller) || token.userId === caller.actor.id || token.createdBy === caller.actor.id;

  return {
    /** Creates a token; the secret is in this answer only. */
    async create(caller: Caller, input: NewTokenInput) {
      requireTokenUser(caller);
      if (input.kind === 'admin') {
        // The bootstrap admin has no user of its own: the service asks it to name one.
        const owner = input.user_id ?? (uuidPattern.test(caller.actor.id) ? caller.actor.id : undefined);
        if (owner !== undefined && owner !== caller.actor.id) requireUserAccess(caller, { resource: 'user', action: 'write' });
      } else if (input.environment !== undefined) {
        requireUserAccess(caller, { resource: 'environment', action: 'write', environment: input.environment });
      }
      return deps.tokens.create(input, writeMetaOf(caller));
    },

    /** Revokes a token: it fails at once in every API process. A token the caller may not manage is unknown to them (404). */
    async revoke(caller: Caller, command: { id: string }) {
      requireTokenUser(caller);
      return deps.tokens.revoke(command.id, mayManage(caller), writeMetaOf(caller));
    },

    /** One token (never its secret), if the caller may see it. */
    async get(caller: Caller, command: { id: string }) {
      requireTokenUser(caller);
      return deps.tokens.get(command.id, mayManage(caller));
    },

    /** A page of the tokens the caller may see, newest first. */
    async list(caller: Caller, query: TokenListQuery) {
      requireTokenUser(caller);
      return deps.tokens.list(query, managesEveryToken(caller) ? undefined : caller.actor.id);
    },
  };
}

export type TokenCommands = ReturnType<typeof createTokenCommands>;
