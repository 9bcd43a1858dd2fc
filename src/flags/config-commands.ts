import { writeMetaOf, type Caller } from '../auth/caller.js';
import type { ChangeRequestService, CoveredWrite, GateOutcome } from '../change-requests/change-request-service.js';
import { writeUnlessRequested, type PolicyOutcome } from '../change-requests/policy-outcome.js';
import type { Database, Queryable } from '../connections/database.js';
import type { FlagConfig } from '../domain/flag.js';
import { parseConfigInput } from './config-validation.js';
import { requireFlagAccess } from './flag-access.js';
import { copiedConfig, type FlagService } from './flag-service.js';
import type { ConfigRecord, FlagRecord } from './flag-store.js';

/** A whole config for one environment, as PUT takes it (checked against the flag's type). */
export interface PutConfig {
  flagKey: string;
  environment: string;
  config: unknown;
  /** The version the caller read (If-Match): 412 when stale. */
  expectedVersion?: number;
}

/** Copying the config of `from` into `environment` (the target keeps its kill switch). */
export interface CopyConfig {
  flagKey: string;
  from: string;
  environment: string;
  expectedVersion?: number;
}

export type ConfigFeatureFlag = Awaited<ReturnType<FlagService['updateConfig']>>;

const NOT_COVERED: GateOutcome = { kind: 'none' };

/**
 * Writing a flag's config in one environment, as every entry point asks for it (the HTTP routes, so
 * the admin UI, `ripcord flags apply` and the importers). Each command decides in one place the
 * caller's rights (flag:write for the environment and the flag's tags; for a copy also flag:read on
 * the source; client and server tokens never write), the environment's change policy (a change
 * request unless the caller bypasses it with the right and a reason), then the version, the config's
 * validity, the write, its projection and its one audit event through the flag service.
 */
export function createConfigCommands(deps: { db: Database; flags: FlagService; changeRequests?: ChangeRequestService }) {
  /** The policy's decision on a config write; the gate validates what it would request exactly as the write would. */
  function gate(caller: Caller, write: Pick<CoveredWrite, 'flagKey' | 'environment' | 'expectedVersion' | 'source'> & {
    proposed: (tx: Queryable, flag: FlagRecord, current: ConfigRecord) => Promise<Omit<FlagConfig, 'kill_switch'>>;
  }): Promise<GateOutcome> {
    if (!deps.changeRequests) return Promise.resolve(NOT_COVERED);
    return deps.changeRequests.gateConfigWrite({ ...write, covers: 'configs', meta: writeMetaOf(caller), bypass: caller.bypass ?? false, subject: caller.subject });
  }

  return {
    /** Replaces the config (PUT), or makes the change request the environment's policy asks for. */
    async put(caller: Caller, command: PutConfig): Promise<PolicyOutcome<ConfigFeatureFlag>> {
      await requireFlagAccess(deps.db, caller, command.flagKey, command.environment, 'write');
      const decided = await gate(caller, {
        flagKey: command.flagKey, environment: command.environment, source: 'put', expectedVersion: command.expectedVersion,
        proposed: async (_tx, flag) => parseConfigInput(flag.type, command.config, 'body'),
      });
      return writeUnlessRequested(decided, (marks) =>
        deps.flags.updateConfig(command.flagKey, command.environment, command.config, command.expectedVersion, writeMetaOf(caller, marks)));
    },

    /** Copies the config of another environment, or makes the change request the target's policy asks for. */
    async copy(caller: Caller, command: CopyConfig): Promise<PolicyOutcome<ConfigFeatureFlag>> {
      await requireFlagAccess(deps.db, caller, command.flagKey, command.environment, 'write');
      await requireFlagAccess(deps.db, caller, command.flagKey, command.from, 'read');
      const decided = await gate(caller, {
        flagKey: command.flagKey, environment: command.environment, source: 'copy', expectedVersion: command.expectedVersion,
        proposed: async (tx, flag) => (await copiedConfig(tx, flag, command.from, command.environment)).config,
      });
      return writeUnlessRequested(decided, (marks) =>
        deps.flags.copyConfig(command.flagKey, command.from, command.environment, command.expectedVersion, writeMetaOf(caller, marks)));
    },
  };
}

export type ConfigCommands = ReturnType<typeof createConfigCommands>;
