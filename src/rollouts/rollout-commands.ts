import { writeMetaOf, type Caller } from '../auth/caller.js';
import type { ChangeRequestService, GateOutcome } from '../change-requests/change-request-service.js';
import { writeUnlessRequested, type PolicyOutcome } from '../change-requests/policy-outcome.js';
import type { Database } from '../connections/database.js';
import type { RolloutPlan } from '../domain/rollout-plan.js';
import { requireFlagAccess } from '../flags/flag-access.js';
import type { RolloutProgress } from '../../workflows/rollout-messages.js';
import type { RolloutService, SteeringAction } from './rollout-service.js';

export type RolloutStarted = Awaited<ReturnType<RolloutService['start']>>;

/** What a steering action takes: a reason (pause, abort) and whether an abort rolls back. */
export interface SteeringArgs {
  reason?: string;
  rollback?: boolean;
}

/**
 * Starting and steering a flag's rollout in one environment, as every entry point asks for it (the
 * HTTP routes, so the admin UI; Slack's `/rollout` steers). Each command decides in one place the
 * caller's right (flag:write for the environment and the flag's tags; client and server tokens never
 * have it); a start also passes the environment's change policy (a change request unless the caller
 * bypasses it with the right and a reason). Steering is never covered: pause and abort are incident
 * tools. The rollout service then starts or updates the workflow and writes the one audit event.
 */
export function createRolloutCommands(deps: { db: Database; rollouts: RolloutService; changeRequests?: ChangeRequestService }) {
  const origin = (caller: Caller) => ({ ipAddress: caller.ipAddress ?? null, userAgent: caller.userAgent ?? null });

  return {
    /** Starts a rollout (409 naming a running one), or makes the change request the environment's policy asks for. */
    async start(caller: Caller, command: { flagKey: string; environment: string; plan: RolloutPlan }): Promise<PolicyOutcome<RolloutStarted>> {
      const { flagKey, environment, plan } = command;
      await requireFlagAccess(deps.db, caller, flagKey, environment, 'write');
      const decided: GateOutcome = deps.changeRequests
        ? await deps.changeRequests.gateRolloutStart({ flagKey, environment, plan, meta: writeMetaOf(caller), bypass: caller.bypass ?? false, subject: caller.subject })
        : { kind: 'none' };
      return writeUnlessRequested(decided, (marks) =>
        deps.rollouts.start(flagKey, environment, { plan }, caller.actor, origin(caller), { reason: caller.reason ?? null, metadata: marks }));
    },

    /** The flag's rollouts in the environment and the running one's live progress (flag:read there, as every entry point reads them). */
    async list(caller: Caller, query: { flagKey: string; environment: string }) {
      await requireFlagAccess(deps.db, caller, query.flagKey, query.environment, 'read');
      return deps.rollouts.list(query.flagKey, query.environment);
    },

    /** Pauses, resumes, skips a step of, approves a gate of, or aborts the running rollout. */
    async steer(caller: Caller, command: { flagKey: string; environment: string; action: SteeringAction; args?: SteeringArgs }): Promise<RolloutProgress> {
      await requireFlagAccess(deps.db, caller, command.flagKey, command.environment, 'write');
      return deps.rollouts.steer(command.flagKey, command.environment, command.action, { ...command.args }, caller.actor, origin(caller));
    },
  };
}

export type RolloutCommands = ReturnType<typeof createRolloutCommands>;
