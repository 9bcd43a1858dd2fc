import type { Logger } from '../logger.js';
import { withTransaction, type Database } from '../connections/database.js';
import { listAuditEventsAfter } from '../audit/audit-store.js';
import { advanceDispatchCursor, insertDelivery, listEnabledWebhooks, lockDispatchCursor } from './webhook-store.js';
import type { WorkflowStarter } from '../temporal/workflow-starter.js';
import { periodicPass, type PeriodicPass } from '../periodic-pass.js';

/** The webhook event an audit action stands for (null: not announced). */
export function webhookEventOf(action: string): string | null {
  if (action === 'kill_switch.activated') return 'flag.killed';
  if (action === 'kill_switch.deactivated') return 'flag.restored';
  if (action === 'rollout.step') return 'rollout.step';
  // A guard's rollback is announced by the config write it makes (its evidence is a second event).
  if (action === 'rollout.rollback') return 'rollout.rolled_back';
  // An abort by the steering record, written once whether or not it rolls back; the rollback's
  // config write (`rollout.abort`) is part of it.
  if (action === 'rollout.aborted') return 'rollout.aborted';
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
        const lastSeq = await lockDispatchCursor(tx);
        if (lastSeq === null) return 0;
        const events = await listAuditEventsAfter(tx, lastSeq, 200);
        if (events.length === 0) return 0;
        const hooks = await listEnabledWebhooks(tx);
        let started = 0;
        for (const row of events) {
          const event = webhookEventOf(row.action);
          if (!event) continue;
          for (const hook of hooks) {
            // A webhook hears of the changes made after it was registered (timestamps are ISO 8601 in UTC, so they sort).
            if (!webhookWants(hook.events, event) || hook.createdAt > row.timestamp) continue;
            const payload = {
              event, occurred_at: row.timestamp, flag: row.resourceId, environment: row.environment,
              actor: { id: row.userId, name: row.metadata?.actorName ?? null }, reason: row.reason, action: row.action, data: row.newValue,
            };
            const deliveryId = await insertDelivery(tx, { webhookId: hook.id, auditSeq: row.seq, event, payload: { id: null, ...payload } });
            if (!deliveryId) continue;
            // Temporal down: the start throws, the transaction rolls back, the cursor stays for the next pass.
            await deps.starter.start({
              workflowType: 'deliverWebhook', workflowId: `webhook:${deliveryId}`, args: [{ deliveryId, ...deps.retry }],
              flagKey: row.resourceId, environment: row.environment ?? '', actor: row.userId,
            });
            started += 1;
          }
        }
        await advanceDispatchCursor(tx, events.at(-1)!.seq);
        return started;
      }),
    { logger: deps.logger, intervalMs: deps.intervalMs ?? 500 },
  );
}
