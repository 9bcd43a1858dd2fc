import type { ChangeEvent } from '../src/stores/projection.js';
import { withTransaction } from '../src/stores/database.js';
import { appendAuditEvent } from '../src/stores/audit-store.js';
import { loadDefinitions } from '../src/stores/flag-store.js';
import { applyKill, applyRestore, killSwitchAuditEvent, type KillSwitchChange } from '../src/services/kill-switch.js';
import { ApplicationFailure } from '@temporalio/activity';
import { nonRetryableOnNotFound, type ActivityDeps, type FlagRef } from './activity-deps.js';

/** The kill-switch steps. Each is idempotent: retried or re-run, it changes nothing twice. */
export function createKillSwitchActivities(deps: ActivityDeps) {
  async function current(ref: FlagRef) {
    const [definition] = await loadDefinitions(deps.db, ref.environment, { flagKey: ref.flagKey });
    if (!definition) throw ApplicationFailure.nonRetryable(`Flag '${ref.flagKey}' not found in '${ref.environment}'`, 'NotFoundError');
    return definition;
  }

  return {
    /** Ensures the kill is applied in Postgres (a no-op when the API already did it). */
    async disableFlag(change: KillSwitchChange): Promise<{ changed: boolean; version: number }> {
      const applied = await nonRetryableOnNotFound(() => withTransaction(deps.db, (tx) => applyKill(tx, change)));
      return { changed: applied.changed, version: applied.definition.version };
    },

    /** Ensures the restore is applied in Postgres. */
    async removeKillSwitch(change: KillSwitchChange): Promise<{ changed: boolean; version: number }> {
      const applied = await nonRetryableOnNotFound(() => withTransaction(deps.db, (tx) => applyRestore(tx, change)));
      return { changed: applied.changed, version: applied.definition.version };
    },

    /** Re-projects the flag's current definition into Redis (never lowering its version). */
    async invalidateCaches(ref: FlagRef): Promise<{ version: number; written: boolean }> {
      const definition = await current(ref);
      return { version: definition.version, written: await deps.projection.write(definition) };
    },

    /** Announces the flag's current definition to every API process; duplicates are ignored by version. */
    async broadcast(ref: FlagRef & { event: ChangeEvent['event'] }): Promise<{ version: number }> {
      const definition = await current(ref);
      await deps.projection.publish({ event: ref.event, definition });
      return { version: definition.version };
    },

    /** Writes the kill's audit event unless it exists (the API writes it with the change). */
    async audit(change: KillSwitchChange): Promise<{ written: boolean }> {
      return { written: await appendAuditEvent(deps.db, killSwitchAuditEvent(change, 'activated')) };
    },

    /** Writes the restore's audit event unless it exists. */
    async auditRecovery(change: KillSwitchChange): Promise<{ written: boolean }> {
      return { written: await appendAuditEvent(deps.db, killSwitchAuditEvent(change, 'deactivated')) };
    },
  };
}
