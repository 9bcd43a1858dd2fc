import {
  Connection,
  Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
} from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { TemporalConnectionOptions } from '../connections/temporal.js';
import type * as workflows from '../../workflows/index.js';
import { ACTOR, ENVIRONMENT, FLAG_KEY, ROLLOUT_STRATEGY } from './search-attributes.js';
import { withCallDeadline } from './call-deadline.js';

/** A workflow's registered name: an export of workflows/index.ts, so renaming a workflow fails the type check here. */
export type WorkflowType = keyof typeof workflows;

/**
 * Everything needed to start a workflow; plain JSON so it can wait in the outbox, which is why the
 * workflow is named by string here while services that start directly pass the function.
 */
export interface WorkflowStartRequest {
  workflowType: WorkflowType;
  workflowId: string;
  args: unknown[];
  /** The FlagKey search attribute; null for a workflow about no one flag (a segment change request). */
  flagKey: string | null;
  environment: string;
  actor: string;
  memo?: Record<string, unknown>;
  /**
   * A finished run with this id may run again: a flag's rollouts share one id per environment. Off by
   * default, so a start the outbox relay retries never runs a finished workflow (a kill) twice.
   */
  reuseFinishedId?: boolean;
  /** The RolloutStrategy search attribute (rollouts only). */
  rolloutStrategy?: string;
}

export interface WorkflowStarter {
  /** Starts the workflow; resolves 'started' or 'already-started', rejects when Temporal can't be reached. */
  start(request: WorkflowStartRequest): Promise<'started' | 'already-started'>;
  readonly client: Client;
  /** Waits for the starts in flight (each bounded by its deadline), then closes the connection. */
  close(): Promise<void>;
}

export interface TemporalClientOptions extends TemporalConnectionOptions {
  namespace: string;
  taskQueue: string;
  /** How long one start may take before Temporal counts as unreachable. */
  timeoutMs?: number;
}

/** A lazily connected client: the API starts (and kills flags) while Temporal is down. */
export function createWorkflowStarter(options: TemporalClientOptions): WorkflowStarter {
  const connection = Connection.lazy({ address: options.address, tls: options.tls, apiKey: options.apiKey });
  const client = new Client({ connection, namespace: options.namespace });
  const timeoutMs = options.timeoutMs ?? 3_000;
  // A start the caller did not await (Slack's kill answers at once) may still be retrying when the
  // process closes; closing the channel under it throws from the client's retry timer, uncaught.
  const inFlight = new Set<Promise<unknown>>();

  async function start(request: WorkflowStartRequest): Promise<'started' | 'already-started'> {
    try {
      await withCallDeadline(connection, Date.now() + timeoutMs, () =>
        client.workflow.start(request.workflowType, {
          taskQueue: options.taskQueue,
          workflowId: request.workflowId,
          args: request.args,
          // A finished kill must not run again when the outbox relay retries its start.
          workflowIdReusePolicy: request.reuseFinishedId ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: new TypedSearchAttributes([
            ...(request.flagKey === null ? [] : [{ key: FLAG_KEY, value: request.flagKey }]),
            { key: ENVIRONMENT, value: request.environment },
            { key: ACTOR, value: request.actor },
            ...(request.rolloutStrategy ? [{ key: ROLLOUT_STRATEGY, value: request.rolloutStrategy }] : []),
          ]),
          memo: request.memo,
        }),
      );
      return 'started';
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return 'already-started';
      throw error;
    }
  }

  return {
    client,
    start(request) {
      const started = start(request);
      const settled = started.catch(() => undefined).finally(() => inFlight.delete(settled));
      inFlight.add(settled);
      return started;
    },
    async close() {
      await Promise.all(inFlight);
      await connection.close();
    },
  };
}
