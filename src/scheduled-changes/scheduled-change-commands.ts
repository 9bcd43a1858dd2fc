import { writeMetaOf, type Caller } from '../auth/caller.js';
import type { ChangeRequestService, GateOutcome } from '../change-requests/change-request-service.js';
import { writeUnlessRequested, type PolicyOutcome } from '../change-requests/policy-outcome.js';
import type { Database } from '../connections/database.js';
import { parseConfigInput } from '../flags/config-validation.js';
import { requireFlagAccess } from '../flags/flag-access.js';
import { scheduleBodySchema, type ScheduledChangeService } from './scheduled-change-service.js';

export type ScheduledChangeCreated = Awaited<ReturnType<ScheduledChangeService['schedule']>>;

/**
 * Scheduling and cancelling a config change that applies at a set time, as every entry point asks for
 * it (the HTTP routes, so the admin UI). Each command decides in one place the caller's right
 * (flag:write for the environment and the flag's tags; client and server tokens never have it); a
 * schedule also passes the environment's change policy (a change request with `apply_at`, unless the
 * caller bypasses it with the right and a reason). The scheduled-change service validates the config
 * as PUT does, starts the workflow and writes the one audit event; at its time the change applies only
 * if its author may still make it (scheduled-change.ts).
 */
export function createScheduledChangeCommands(deps: { db: Database; scheduledChanges: ScheduledChangeService; changeRequests?: ChangeRequestService }) {
  const origin = (caller: Caller) => ({ ipAddress: caller.ipAddress ?? null, userAgent: caller.userAgent ?? null });

  /** The policy's decision; a body the schedule itself refuses is left to it, so the errors are the same with or without a policy. */
  async function gate(caller: Caller, flagKey: string, environment: string, body: unknown): Promise<GateOutcome> {
    const parsed = scheduleBodySchema.safeParse(body);
    if (!deps.changeRequests || !parsed.success || Date.parse(parsed.data.at) <= Date.now()) return { kind: 'none' };
    const { at, config, reason } = parsed.data;
    return deps.changeRequests.gateConfigWrite({
      flagKey, environment, covers: 'scheduled_changes', source: 'scheduled', applyAt: new Date(at).toISOString(),
      proposed: async (_tx, flag) => parseConfigInput(flag.type, config, 'body.config'),
      meta: writeMetaOf({ ...caller, reason: reason ?? caller.reason }), bypass: caller.bypass ?? false, subject: caller.subject,
    });
  }

  return {
    /** Schedules the change (`body`: at, config, reason), or makes the change request the environment's policy asks for. */
    async schedule(caller: Caller, command: { flagKey: string; environment: string; body: unknown }): Promise<PolicyOutcome<ScheduledChangeCreated>> {
      const { flagKey, environment, body } = command;
      await requireFlagAccess(deps.db, caller, flagKey, environment, 'write');
      return writeUnlessRequested(await gate(caller, flagKey, environment, body), (marks) =>
        deps.scheduledChanges.schedule(flagKey, environment, body, caller.actor, { ...origin(caller), auditMetadata: marks }));
    },

    /** Cancels a pending scheduled change (never covered: it keeps a change from happening). */
    async cancel(caller: Caller, command: { flagKey: string; environment: string; changeId: string }) {
      await requireFlagAccess(deps.db, caller, command.flagKey, command.environment, 'write');
      return deps.scheduledChanges.cancel(command.flagKey, command.environment, command.changeId, caller.actor, origin(caller));
    },
  };
}

export type ScheduledChangeCommands = ReturnType<typeof createScheduledChangeCommands>;
