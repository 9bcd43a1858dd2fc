import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ServiceUnavailableError } from '../errors.js';
import { withCallDeadline } from './call-deadline.js';
import type { Database } from '../connections/database.js';

/** What the services that start and steer workflows need. */
export interface WorkflowServiceDeps {
  db: Database;
  temporal: Client;
  taskQueue: string;
  temporalUiUrl: string;
  namespace: string;
}

const TEMPORAL_TIMEOUT_MS = 5_000;

/**
 * Calls Temporal with a deadline. Not reaching it becomes a 503 naming what can't be done; the
 * workflow errors the caller maps itself (already started, not found, update refused) pass through.
 */
export async function callTemporal<T>(temporal: Client, unavailable: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await withCallDeadline(temporal.connection, Date.now() + TEMPORAL_TIMEOUT_MS, fn);
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError || error instanceof WorkflowNotFoundError || error instanceof WorkflowUpdateFailedError) throw error;
    // An update no worker takes up (the rollout's worker is gone) times out like an unreachable Temporal: 503, not 500.
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError
      || (error as { name?: string }).name === 'ServiceError' || /UNAVAILABLE|DEADLINE_EXCEEDED|connect/i.test(String(error))) {
      throw new ServiceUnavailableError(`Temporal is unreachable: ${unavailable} right now (kill switches still work)`);
    }
    throw error;
  }
}
