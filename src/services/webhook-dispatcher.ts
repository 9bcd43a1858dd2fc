import type { Logger } from '../logger.js';
import { withTransaction, type Database } from '../stores/database.js';
import { insertDelivery } from '../stores/webhook-store.js';
import type { WorkflowStarter } from '../temporal/workflow-starter.js';
import { periodicPass, type PeriodicPass } from './periodic-pass.js';

/** The webhook event an audit action stands for (null: not announced). */
export function webhookEventOf(action: string): string | null {
  if (action === 'kill_switch.activated') return 'flag.killed';
  if (action === 'kill_switch.deactivated') return 'flag.restored';
  if (action === 'rollout.step') return 'rollout.step';
  if (action === 'rollout.rollback') return 'rollout.rolled_back';
  if (action === 'rollout.abort') return 'rollout.aborted';
  if (action.startsWith('flag.')) return 'flag.updated';
  if (action === 'audit.checkpoint') return 'audit.checkpoint';
  return null;
}

/** Whether a webhook's filter takes an event: exact names, or a family such as `rollout.*`. */
export function webhookWants(filters: readonly string[], event: string): boolean {
  return filters.some((filter) => filter === event || filter === '*' || (filter.endsWith('.*') && event.startsWith(filter.slice(0, -1))));
}

export interface WebhookRetryPolicy {
  maxAttempts: number;
  initialInterval: string;
}

/**
 * Turns audit events into webhook deliveries. The audit log is committed with every change, so it
 * serves as the outbox: a cursor walks it, each (webhook, event) becomes one delivery row and one
 * `deliverWebhook` workflow (its id is the delivery's, so a repeat start is refused by the server).
 * The cursor row is locked with SKIP LOCKED, so one worker dispatches at a time.
 */
export function createWebhookDispatcher(deps: { db: Database; starter: WorkflowStarter; logger: Logger; retry: WebhookRetryPolicy; intervalMs?: number }): PeriodicPass {
  return periodicPass(
    'webhook dispatch',
    () =>
      withTransaction(deps.db, async (tx) => {
        const cursor = await tx.query('SELECT last_seq FROM webhook_dispatch_cursor WHERE id = 1 FOR UPDATE SKIP LOCKED');
        if (!cursor.rows[0]) return 0;
        const events = await tx.query(
          `SELECT seq, id, "timestamp", user_id, action, resource_type, resource_id, environment, new_value, reason, metadata
             FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 200`,
          [cursor.rows[0].last_seq],
        );
        if (events.rows.length === 0) return 0;
        const hooks = (await tx.query('SELECT id, events, created_at FROM webhooks WHERE enabled')).rows;
        let started = 0;
        for (const row of events.rows) {
          const event = webhookEventOf(row.action);
          if (!event) continue;
          for (const hook of hooks) {
            if (!webhookWants(hook.events, event) || hook.created_at > row.timestamp) continue;
            const payload = {
              event, occurred_at: row.timestamp.toISOString(), flag: row.resource_id, environment: row.environment,
              actor: { id: row.user_id, name: row.metadata?.actorName ?? null }, reason: row.reason, action: row.action, data: row.new_value,
            };
            const deliveryId = await insertDelivery(tx, { webhookId: hook.id, auditSeq: row.seq, event, payload: { id: null, ...payload } });
            if (!deliveryId) continue;
            // Temporal down: the start throws, the transaction rolls back, the cursor stays for the next pass.
            await deps.starter.start({
              workflowType: 'deliverWebhook', workflowId: `webhook:${deliveryId}`, args: [{ deliveryId, ...deps.retry }],
              flagKey: row.resource_id, environment: row.environment ?? '', actor: row.user_id,
            });
            started += 1;
          }
        }
        await tx.query('UPDATE webhook_dispatch_cursor SET last_seq = $1 WHERE id = 1', [events.rows.at(-1).seq]);
        return started;
      }),
    { logger: deps.logger, intervalMs: deps.intervalMs ?? 500 },
  );
}
