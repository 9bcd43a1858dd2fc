import { requireAccess, writeMetaOf, type Caller } from '../auth/caller.js';
import type { Database } from '../connections/database.js';
import { requireFlagAccess } from './flag-access.js';
import type { FlagIdentityPatch, FlagService, NewFlagInput } from './flag-service.js';

/**
 * A flag's definition (create, rename, retag, archive, unarchive, delete), as every entry point asks
 * for it (the HTTP routes, so the admin UI, `ripcord flags apply` and the importers). Each command
 * decides in one place the caller's right, with the flag's tags (flag:write to create or change it,
 * on the old tags and the new ones; flag:delete to archive, unarchive or delete it; client and server
 * tokens never have them); the flag service then checks the version and writes, projects and audits.
 * No change policy covers definitions: a policy is per environment, and these touch every one the
 * same way (an archived flag serves nothing anywhere).
 */
export function createFlagCommands(deps: { db: Database; flags: FlagService }) {
  return {
    async create(caller: Caller, input: NewFlagInput) {
      requireAccess(caller, { resource: 'flag', action: 'write', tags: input.tags ?? [] });
      return deps.flags.createFlag(input, writeMetaOf(caller));
    },

    async update(caller: Caller, command: { flagKey: string; patch: FlagIdentityPatch; expectedVersion?: number }) {
      await requireFlagAccess(deps.db, caller, command.flagKey, undefined, 'write');
      if (command.patch.tags) requireAccess(caller, { resource: 'flag', action: 'write', tags: command.patch.tags });
      return deps.flags.updateFlag(command.flagKey, command.patch, command.expectedVersion, writeMetaOf(caller));
    },

    async archive(caller: Caller, command: { flagKey: string; expectedVersion?: number }) {
      await requireFlagAccess(deps.db, caller, command.flagKey, undefined, 'delete');
      return deps.flags.archiveFlag(command.flagKey, command.expectedVersion, writeMetaOf(caller));
    },

    async unarchive(caller: Caller, command: { flagKey: string; expectedVersion?: number }) {
      await requireFlagAccess(deps.db, caller, command.flagKey, undefined, 'delete');
      return deps.flags.unarchiveFlag(command.flagKey, command.expectedVersion, writeMetaOf(caller));
    },

    async delete(caller: Caller, command: { flagKey: string; expectedVersion?: number }): Promise<void> {
      await requireFlagAccess(deps.db, caller, command.flagKey, undefined, 'delete');
      await deps.flags.deleteFlag(command.flagKey, command.expectedVersion, writeMetaOf(caller));
    },
  };
}

export type FlagCommands = ReturnType<typeof createFlagCommands>;
