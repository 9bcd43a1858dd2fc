import type { Logger } from '../logger.js';
import { withTransaction, type Database } from '../connections/database.js';
import { listAuditEventsAfter } from '../audit/audit-store.js';
import { advanceDispatchCursor, insertDelivery, listEnabledWebhooks, lockDispatchCursor } from './webhook-store.js';
import type { WorkflowStartRequest, WorkflowStarter } from '../temporal/workflow-starter.js';
import { enqueueOutbox, markOutboxProcessed } from '../outbox/outbox-store.js';
import { WORKFLOW_START } from '../outbox/outbox-relay.js';
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
 *
 * The workflows start after the pass has committed its delivery rows: a workflow started inside the
 * transaction could run its first attempt before the commit, find no delivery and end as gone, and
 * the delivery would stay pending for ever. Each start is recorded in the workflow outbox in the same
 * transaction, so a start that fails after the commit (Temporal away, a crash) is made by the relay.
 */
export function createWebhookDispatcher(deps: { db: Database; starter: WorkflowStarter; logger: Logger; retry: WebhookRetryPolicy; intervalMs?: number }): PeriodicPass {
  return periodicPass(
    'webhook dispatch',
    async () => {
      const starts = await withTransaction(deps.db, async (tx) => {
        const recorded: WorkflowStartRequest[] = [];
        const lastSeq = await lockDispatchCursor(tx);
        if (lastSeq === null) return recorded;
        const events = await listAuditEventsAfter(tx, lastSeq, 200);
        if (events.length === 0) return recorded;
        const hooks = await listEnabledWebhooks(tx);
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
            const start: WorkflowStartRequest = {
              workflowType: 'deliverWebhook', workflowId: `webhook:${deliveryId}`, args: [{ deliveryId, ...deps.retry }],
              flagKey: row.resourceId, environment: row.environment ?? '', actor: row.userId,
            };
            await enqueueOutbox(tx, WORKFLOW_START, start.workflowId, start);
            recorded.push(start);
          }
        }
        await advanceDispatchCursor(tx, events.at(-1)!.seq);
        return recorded;
      });
      let started = 0;
      for (const start of starts) {
        try {
          await deps.starter.start(start);
        } catch (error) {
          deps.logger.warn({ err: error, workflowId: start.workflowId }, 'Temporal unreachable: the webhook deliveries wait in the outbox');
          break; // the relay starts this one and the rest
        }
        await markOutboxProcessed(deps.db, start.workflowId);
        started += 1;
      }
      return started;
    },
    { logger: deps.logger, intervalMs: deps.intervalMs ?? 500 },
  );
}
