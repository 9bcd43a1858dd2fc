import type { Logger } from '../logger.js';
import { withTransaction, type Database } from '../connections/database.js';
import { claimPendingOutbox, markOutboxFailed, markOutboxProcessed } from './outbox-store.js';
import type { WorkflowStartRequest, WorkflowStarter } from '../temporal/workflow-starter.js';
import { periodicPass, type PeriodicPass } from '../periodic-pass.js';

export const WORKFLOW_START = 'workflow.start';

/** Starts the workflows whose start was recorded in the outbox but not confirmed (Temporal was down). */
export function createOutboxRelay(deps: { db: Database; starter: WorkflowStarter; logger: Logger; intervalMs?: number }): PeriodicPass {
  return periodicPass(
    'outbox relay',
    () =>
      withTransaction(deps.db, async (tx) => {
        const entries = await claimPendingOutbox<WorkflowStartRequest>(tx, WORKFLOW_START, 20);
        let done = 0;
        for (const entry of entries) {
          try {
            const outcome = await deps.starter.start(entry.payload);
            await markOutboxProcessed(tx, entry.dedupeKey);
            deps.logger.info({ workflowId: entry.payload.workflowId, outcome }, 'outbox relay started a workflow');
            done += 1;
          } catch (error) {
            await markOutboxFailed(tx, entry.id, String(error));
            break; // Temporal is still unreachable: try the rest on the next pass.
          }
        }
        return done;
      }),
    { logger: deps.logger, intervalMs: deps.intervalMs ?? 1_000 },
  );
}
