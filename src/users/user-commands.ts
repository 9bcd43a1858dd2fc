import { requireUserAccess, writeMetaOf, type Caller } from '../auth/caller.js';
import type { Grant } from '../auth/rbac.js';
import type { NewUserInput, UserPatch, UserService } from './user-service.js';

/**
 * Managing users, their roles and grants, as every entry point asks for it (the HTTP routes, so the
 * admin UI; SSO sign-in provisions users itself, from the identity provider's claims). Each command
 * decides in one place that the caller holds user:write (admins only: no grant gives it; client and
 * server tokens never do); the user service then writes, with its one audit event naming the caller,
 * and every API process forgets the user's cached credentials.
 */
export function createUserCommands(deps: { users: UserService }) {
  const requireManager = (caller: Caller) => requireUserAccess(caller, { resource: 'user', action: 'write' });

  return {
    async create(caller: Caller, input: NewUserInput) {
      requireManager(caller);
      return deps.users.create(input, writeMetaOf(caller));
    },

    /** Changes a user's name, role or Slack id. */
    async update(caller: Caller, command: { id: string; patch: UserPatch }) {
      requireManager(caller);
      return deps.users.update(command.id, command.patch, writeMetaOf(caller));
    },

    /** Replaces a user's grants. */
    async setGrants(caller: Caller, command: { id: string; grants: Grant[] }) {
      requireManager(caller);
      return deps.users.setGrants(command.id, command.grants, writeMetaOf(caller));
    },

    /** Deactivates a user and revokes their tokens (never the caller themselves). */
    async deactivate(caller: Caller, command: { id: string }) {
      requireManager(caller);
      return deps.users.deactivate(command.id, writeMetaOf(caller));
    },
  };
}

export type UserCommands = ReturnType<typeof createUserCommands>;
