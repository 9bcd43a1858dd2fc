import type { Logger } from '../logger.js';
import { withTransaction, type Database } from '../stores/database.js';
import { claimPendingOutbox, markOutboxFailed, markOutboxProcessed } from '../stores/outbox-store.js';
import type { WorkflowStartRequest, WorkflowStarter } from '../temporal/workflow-starter.js';

export const WORKFLOW_START = 'workflow.start';

/** Starts the workflows whose start was recorded in the outbox but not confirmed (Temporal was down). */
export function createOutboxRelay(deps: { db: Database; starter: WorkflowStarter; logger: Logger; intervalMs?: number }) {
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  /** One pass; returns how many workflows were started (or found already started). */
  async function runOnce(): Promise<number> {
    if (running) return 0;
    running = true;
    try {
      return await withTransaction(deps.db, async (tx) => {
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
      });
    } catch (error) {
      deps.logger.warn({ err: error }, 'outbox relay pass failed');
      return 0;
    } finally {
      running = false;
    }
  }

  return {
    runOnce,
    start() {
      timer = setInterval(() => void runOnce(), deps.intervalMs ?? 1_000);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
