import type { ChangeKind } from '../src/domain/flag-change.js';
import { applyKill, applyRestore, auditKillSwitch, currentDefinition, type KillSwitchChange } from '../src/kill-switch/kill-change.js';
import { Context, sleep } from '@temporalio/activity';
import { listReplicas } from '../src/serving/replica-heartbeat.js';
import type { Confirmation } from '../src/serving/change-confirmation.js';
import type { SdkInstancesConfirmation } from '../src/domain/sdk-instances.js';
import { CONFIRMATION_TIMEOUT_MS } from '../src/kill-switch/kill-confirmation-service.js';
import { nonRetryableOnNotFound, type ActivityDeps, type FlagRef } from './activity-deps.js';

/** Whether every live API replica serves a change, and how long it took from the change. */
export interface Convergence {
  converged: boolean;
  replicas: number;
  elapsedMs: number;
  laggards: string[];
}

/** The kill-switch steps. Each is idempotent: retried or re-run, it changes nothing twice. */
export function createKillSwitchActivities(deps: ActivityDeps) {
  async function current(ref: FlagRef) {
    return nonRetryableOnNotFound(() => currentDefinition(deps.db, ref));
  }

  return {
    /** Ensures the kill is applied in Postgres (a no-op when the API already did it). */
    async disableFlag(change: KillSwitchChange): Promise<{ changed: boolean; version: number }> {
      const applied = await nonRetryableOnNotFound(() => applyKill(deps.db, change));
      return { changed: applied.changed, version: applied.definition.version };
    },

    /** Ensures the restore is applied in Postgres. */
    async removeKillSwitch(change: KillSwitchChange): Promise<{ changed: boolean; version: number }> {
      const applied = await nonRetryableOnNotFound(() => applyRestore(deps.db, change));
      return { changed: applied.changed, version: applied.definition.version };
    },

    /** Re-projects the flag's current definition into Redis (never lowering its version). */
    async invalidateCaches(ref: FlagRef): Promise<{ version: number; written: boolean }> {
      const definition = await current(ref);
      return { version: definition.version, written: await deps.publisher.project(definition) };
    },

    /** Announces the flag's current definition to every API process; duplicates are ignored by version. */
    async broadcast(ref: FlagRef & { event: ChangeKind }): Promise<{ version: number }> {
      const definition = await current(ref);
      await deps.publisher.announce(definition, ref.event);
      return { version: definition.version };
    },

    /**
     * The confirmation of kills started before acknowledgements existed (their histories schedule
     * it): waits until every live replica's heartbeat reports serving `version`.
     */
    async confirmConvergence(input: { environment: string; version: number; sinceMs: number; timeoutMs?: number }): Promise<Convergence> {
      const deadline = Date.now() + (input.timeoutMs ?? 5_000);
      for (;;) {
        const replicas = await listReplicas(deps.redis, deps.redisPrefix);
        const laggards = replicas
          .filter((replica) => (replica.environments[input.environment]?.version ?? 0) < input.version)
          .map((replica) => replica.replica);
        const elapsedMs = Date.now() - input.sinceMs;
        if (laggards.length === 0) return { converged: true, replicas: replicas.length, elapsedMs, laggards };
        if (Date.now() >= deadline) return { converged: false, replicas: replicas.length, elapsedMs, laggards };
        Context.current().heartbeat({ laggards: laggards.length });
        await sleep(50);
      }
    },

    /**
     * Waits until every live API replica has acknowledged serving `version` of the flag (their
     * acknowledgements, not the heartbeats, which only say who is alive); after `timeoutMs` it
     * names the replicas that have not. Elapsed time runs from the change to the last acknowledgement.
     */
    async confirmAcks(input: { flagKey: string; environment: string; version: number; sinceMs: number; timeoutMs?: number }): Promise<Confirmation> {
      const context = Context.current();
      return deps.acks.waitForConfirmation(
        { environment: input.environment, flag: input.flagKey, version: input.version, sinceMs: input.sinceMs },
        { timeoutMs: input.timeoutMs ?? CONFIRMATION_TIMEOUT_MS, onProgress: (c) => context.heartbeat({ laggards: c.laggards.length }) },
      );
    },

    /**
     * Waits until every SDK instance counted by the replicas holds `version` of the environment (or
     * a later one), at most until `sinceMs + timeoutMs`; then names the laggards. The kill's other
     * steps have run by then: an instance behind is named, it never holds anything up.
     */
    async confirmInstances(input: { environment: string; version: number; sinceMs: number; timeoutMs?: number }): Promise<SdkInstancesConfirmation> {
      const context = Context.current();
      // At least a second from now: a kill whose earlier steps took the whole window still gets a look.
      const deadlineMs = Math.max(input.sinceMs + (input.timeoutMs ?? CONFIRMATION_TIMEOUT_MS), Date.now() + 1_000);
      return deps.instances.waitFor(
        { environment: input.environment, version: input.version, sinceMs: input.sinceMs },
        { deadlineMs, onProgress: (c) => context.heartbeat({ behind: c.total - c.confirmed - c.delivered }) },
      );
    },

    /** Writes the kill's audit event unless it exists (the API writes it with the change). */
    async audit(change: KillSwitchChange): Promise<{ written: boolean }> {
      return { written: await auditKillSwitch(deps.db, change, 'activated') };
    },

    /** Writes the restore's audit event unless it exists. */
    async auditRecovery(change: KillSwitchChange): Promise<{ written: boolean }> {
      return { written: await auditKillSwitch(deps.db, change, 'deactivated') };
    },
  };
}
