import { requireRole, type Caller } from '../auth/caller.js';
import type { Role } from '../auth/rbac.js';
import type { WebhookService } from './webhook-service.js';

/** Webhooks send change events to any reachable URL: only admins manage them (no grant gives it). */
const WEBHOOK_MANAGERS: readonly Role[] = ['admin'];

/**
 * Webhooks (register, change, remove, and their delivery log), as every entry point asks for them (the
 * HTTP routes, so the admin UI). Each command decides in one place that the caller is an admin user
 * (client and server tokens never are); the webhook service then checks the destination, writes, and
 * records the one audit event naming the caller.
 */
export function createWebhookCommands(deps: { webhooks: WebhookService }) {
  const meta = (caller: Caller) => ({ actor: caller.actor, ipAddress: caller.ipAddress ?? null, userAgent: caller.userAgent ?? null });
  const requireManager = (caller: Caller) => requireRole(caller, WEBHOOK_MANAGERS);

  return {
    /** Registers an endpoint; its signing secret is answered this once only. */
    async create(caller: Caller, input: Parameters<WebhookService['create']>[0]) {
      requireManager(caller);
      return deps.webhooks.create(input, meta(caller));
    },

    async update(caller: Caller, command: { id: string; patch: Parameters<WebhookService['update']>[1] }) {
      requireManager(caller);
      return deps.webhooks.update(command.id, command.patch, meta(caller));
    },

    async remove(caller: Caller, command: { id: string }): Promise<void> {
      requireManager(caller);
      await deps.webhooks.remove(command.id, meta(caller));
    },

    /** Every webhook, without secrets. */
    async list(caller: Caller) {
      requireManager(caller);
      return deps.webhooks.list();
    },

    /** A webhook's delivery log, newest first. */
    async deliveries(caller: Caller, command: { id: string; limit: number }) {
      requireManager(caller);
      return deps.webhooks.deliveries(command.id, command.limit);
    },
  };
}

export type WebhookCommands = ReturnType<typeof createWebhookCommands>;
