import { randomBytes } from 'node:crypto';
import type { Actor } from '../auth/principal.js';
import { NotFoundError, ServiceUnavailableError, ValidationError } from '../errors.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { withTransaction, type Database } from '../connections/database.js';
import { MissingSecretKey, type SecretBox } from '../auth/secret-box.js';
import { checkDestination, RefusedDestination } from './webhook-destination.js';
import type { DestinationPolicy } from '../config-parsers.js';
import { deleteWebhook, findWebhook, insertWebhook, listDeliveries, listWebhooks, updateWebhook, type WebhookRecord } from './webhook-store.js';

export interface WebhookRequestMeta {
  actor: Actor;
  ipAddress?: string | null;
  userAgent?: string | null;
}

const present = (hook: WebhookRecord) => ({
  id: hook.id, url: hook.url, events: hook.events, enabled: hook.enabled, created_by: hook.createdBy, created_at: hook.createdAt, updated_at: hook.updatedAt,
});

/** Refuses (400 naming `url`) a destination that resolves to an address webhooks may not reach. */
async function requireReachable(policy: DestinationPolicy, url: string): Promise<void> {
  try {
    await checkDestination(policy, new URL(url));
  } catch (error) {
    if (error instanceof RefusedDestination) throw new ValidationError('Invalid request body', [{ path: 'body.url', message: error.message }]);
    throw error;
  }
}

/**
 * Registered webhook endpoints; each change is one transaction with its audit event. Destinations are
 * checked against `destinations`; signing secrets are stored encrypted by `secrets`.
 */
export function createWebhookService(deps: { db: Database; destinations: DestinationPolicy; secrets: SecretBox }) {
  const { db } = deps;
  const audit = (tx: Database | Parameters<typeof appendAuditEvent>[0], meta: WebhookRequestMeta, action: string, id: string, oldValue: unknown, newValue: unknown) =>
    appendAuditEvent(tx, {
      userId: meta.actor.id, action, resourceType: 'webhook', resourceId: id, oldValue, newValue,
      ipAddress: meta.ipAddress, userAgent: meta.userAgent, metadata: { actorName: meta.actor.name },
    });

  async function requireWebhook(id: string) {
    const hook = await findWebhook(db, id);
    if (!hook) throw new NotFoundError(`Webhook '${id}' does not exist`);
    return hook;
  }

  return {
    /** Registers an endpoint; the signing secret (given or generated) is returned this once only. */
    async create(input: { url: string; events: string[]; secret?: string; enabled?: boolean }, meta: WebhookRequestMeta) {
      await requireReachable(deps.destinations, input.url);
      const secret = input.secret ?? `whsec_${randomBytes(24).toString('base64url')}`;
      let encrypted: string;
      try {
        encrypted = deps.secrets.encrypt(secret);
      } catch (error) {
        if (error instanceof MissingSecretKey) throw new ServiceUnavailableError(error.message);
        throw error;
      }
      const hook = await withTransaction(db, async (tx) => {
        const created = await insertWebhook(tx, { url: input.url, secret: encrypted, events: input.events, enabled: input.enabled ?? true, createdBy: meta.actor.id });
        await audit(tx, meta, 'webhook.created', created.id, null, present(created));
        return created;
      });
      return { ...present(hook), secret };
    },

    async list() {
      return { webhooks: (await listWebhooks(db)).map(present) };
    },

    async update(id: string, patch: { url?: string; events?: string[]; enabled?: boolean }, meta: WebhookRequestMeta) {
      const before = await requireWebhook(id);
      if (patch.url !== undefined) await requireReachable(deps.destinations, patch.url);
      const hook = await withTransaction(db, async (tx) => {
        const updated = await updateWebhook(tx, id, patch);
        if (!updated) throw new NotFoundError(`Webhook '${id}' does not exist`);
        await audit(tx, meta, 'webhook.updated', id, present(before), present(updated));
        return updated;
      });
      return present(hook);
    },

    async remove(id: string, meta: WebhookRequestMeta) {
      const before = await requireWebhook(id);
      await withTransaction(db, async (tx) => {
        if (!(await deleteWebhook(tx, id))) throw new NotFoundError(`Webhook '${id}' does not exist`);
        await audit(tx, meta, 'webhook.deleted', id, present(before), null);
      });
    },

    /** The delivery log of one webhook, newest first. */
    async deliveries(id: string, limit: number) {
      await requireWebhook(id);
      return {
        deliveries: (await listDeliveries(db, id, limit)).map((d) => ({
          id: d.id, event: d.event, status: d.status, attempts: d.attempts, last_status_code: d.lastStatusCode,
          last_error: d.lastError, created_at: d.createdAt, delivered_at: d.deliveredAt, payload: { ...d.payload, id: d.id },
        })),
      };
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
