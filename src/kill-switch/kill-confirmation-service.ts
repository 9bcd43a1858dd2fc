import type { Redis } from 'ioredis';
import type { KillSwitchState } from '../protocol/admin-api.js';
import { NotFoundError } from '../errors.js';
import type { Database } from '../connections/database.js';
import { latestKillSwitchEvent } from '../audit/audit-store.js';
import { findFlag, loadDefinitions } from '../flags/flag-store.js';
import { unknownFlag } from '../flags/unknown-flag.js';
import { readConfirmation } from '../serving/change-confirmation.js';
import { readInstanceConfirmation } from '../serving/instance-confirmation.js';
import { instancesConverged } from '../domain/sdk-instances.js';

/** How long a replica may take to acknowledge a kill before it is named a laggard. */
export const CONFIRMATION_TIMEOUT_MS = 5_000;

/**
 * The answer of GET …/kill-switch, as src/protocol/admin-api.ts defines it for the route's docs and
 * the admin UI: `latest` is the last kill or release (from the audit log); `confirmation` says which
 * live replicas acknowledge the current version (`pending` while the change is younger than 5 s and
 * not acknowledged by all, `unconfirmed` with the laggards named after that).
 */
export type { KillSwitchState };

/** Reads a flag's kill switch with its per-replica confirmation (the admin UI and on-call read this). */
export function createKillConfirmationService(deps: { db: Database; redis: Redis; prefix?: string; workflowUrl?: (workflowId: string) => string }) {
  return {
    async state(flagKey: string, environment: string): Promise<KillSwitchState> {
      const flag = await findFlag(deps.db, flagKey);
      if (!flag || flag.archivedAt) throw await unknownFlag(deps.db, flagKey);
      const [definition] = await loadDefinitions(deps.db, environment, { flagKey });
      if (!definition) throw new NotFoundError(`Flag '${flagKey}' has no config in environment '${environment}'`);
      const event = await latestKillSwitchEvent(deps.db, flagKey, environment);
      const killSwitch = definition.config.kill_switch;
      const latest: KillSwitchState['latest'] = event
        ? {
          action: event.action === 'kill_switch.activated' ? 'activated' : 'deactivated',
          // A kill records when it was asked for; that is where confirmation is timed from.
          at: event.action === 'kill_switch.activated' && killSwitch.enabled && killSwitch.triggered_at ? killSwitch.triggered_at : event.timestamp,
          actor: typeof event.metadata.actorName === 'string' ? event.metadata.actorName : null,
          reason: event.reason,
          workflow_id: typeof event.metadata.workflowId === 'string' ? event.metadata.workflowId : null,
          workflow_url: typeof event.metadata.workflowId === 'string' && deps.workflowUrl ? deps.workflowUrl(event.metadata.workflowId) : null,
        }
        : null;
      let confirmation: KillSwitchState['confirmation'] = null;
      if (latest) {
        const sinceMs = Date.parse(latest.at);
        // Redis down: the kill state is still the truth (from Postgres); who serves it can't be told.
        const change = { environment, flag: flagKey, version: definition.version, sinceMs };
        const read = await Promise.all([readConfirmation(deps.redis, change, deps.prefix), readInstanceConfirmation(deps.redis, change, deps.prefix)]).catch(() => null);
        if (read) {
          const [{ converged, confirmedReplicas, totalReplicas, elapsedMs, laggards }, sdk] = read;
          // Confirmed once every replica and every counted SDK instance holds it; a laggard is named either way.
          const status = converged && instancesConverged(sdk) ? 'confirmed' : Date.now() - sinceMs < CONFIRMATION_TIMEOUT_MS ? 'pending' : 'unconfirmed';
          confirmation = { status, confirmed_replicas: confirmedReplicas, total_replicas: totalReplicas, elapsed_ms: elapsedMs, laggards, sdk_instances: sdk };
        }
      }
      return { flag: flagKey, environment, version: definition.version, kill_switch: killSwitch, latest, confirmation };
    },
  };
}

export type KillConfirmationService = ReturnType<typeof createKillConfirmationService>;
