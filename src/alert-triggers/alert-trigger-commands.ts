import type { Caller } from '../auth/caller.js';
import type { Database } from '../connections/database.js';
import { requireFlagAccess } from '../flags/flag-access.js';
import type { AlertTriggerService, TriggerInput } from './alert-trigger-service.js';

/**
 * Managing a flag's alert triggers (create, enable/disable, rotate its secret, send a test alert, delete), as every entry
 * point asks for it (the HTTP routes, so the admin UI). A trigger pulls the kill switch for whoever
 * made it, so each command decides in one place that the caller holds flag:kill_switch for the
 * trigger's environment and the flag's tags (client and server tokens never do); the service writes the trigger and its one audit event. What a trigger's
 * hook then does is the kill switch's commands' (kill-switch-commands.ts), with the trigger as caller.
 */
export function createAlertTriggerCommands(deps: { db: Database; triggers: AlertTriggerService }) {
  const meta = (caller: Caller) => ({ actor: caller.actor, ipAddress: caller.ipAddress ?? null, userAgent: caller.userAgent ?? null });

  /** The trigger (404 when unknown), once the caller may manage it. */
  async function authorized(caller: Caller, id: string) {
    const trigger = await deps.triggers.find(id);
    await requireFlagAccess(deps.db, caller, trigger.flagKey, trigger.environment, 'kill_switch');
    return trigger;
  }

  return {
    /** Creates a trigger; its secret is shown once. */
    async create(caller: Caller, command: { flagKey: string; environment: string; input: TriggerInput }) {
      await requireFlagAccess(deps.db, caller, command.flagKey, command.environment, 'kill_switch');
      return deps.triggers.create(command.flagKey, command.environment, command.input, meta(caller));
    },

    /** Disables or enables a trigger without deleting it. */
    async setEnabled(caller: Caller, command: { id: string; enabled: boolean }) {
      await authorized(caller, command.id);
      return deps.triggers.setEnabled(command.id, command.enabled, meta(caller));
    },

    /** Gives the trigger a new secret (its URL changes; the old one stops working at once). */
    async rotateSecret(caller: Caller, command: { id: string }) {
      await authorized(caller, command.id);
      return deps.triggers.rotateSecret(command.id, meta(caller));
    },

    /** Sends a firing test alert through the trigger's own delivery path: it does what a real alert would do now. */
    async sendTestAlert(caller: Caller, command: { id: string }) {
      await authorized(caller, command.id);
      return deps.triggers.sendTestAlert(command.id, meta(caller));
    },

    /** Deletes a trigger: its URL stops working at once. */
    async remove(caller: Caller, command: { id: string }): Promise<void> {
      await authorized(caller, command.id);
      await deps.triggers.remove(command.id, meta(caller));
    },
  };
}

export type AlertTriggerCommands = ReturnType<typeof createAlertTriggerCommands>;
