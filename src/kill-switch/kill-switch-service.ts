import { randomUUID } from 'node:crypto';
import { latestKillSwitchEvent } from '../audit/audit-store.js';
import type { Actor } from '../auth/principal.js';
import type { FlagDefinition } from '../domain/flag.js';
import type { Logger } from '../logger.js';
import type { Database } from '../connections/database.js';
import { markOutboxProcessed } from '../outbox/outbox-store.js';
import { killSwitchWorkflowId, restoreWorkflowId, workflowUrl } from '../temporal/workflow-ids.js';
import type { WorkflowStartRequest, WorkflowStarter } from '../temporal/workflow-starter.js';
import type { FlagPublisher } from '../cache/flag-publisher.js';
import { applyKill, applyRestore, type KillSwitchChange } from './kill-change.js';
import { WORKFLOW_START } from '../outbox/outbox-relay.js';

export interface KillSwitchCommand {
  flagKey: string;
  environment: string;
  reason: string;
  actor: Actor;
  /** Makes a redelivered request a no-op; a fresh id is made when absent. */
  requestId?: string;
  ipAddress?: string | null;
  userAgent?: string | null;
}

export interface KillSwitchOutcome {
  definition: FlagDefinition;
  /** False when the request was a retry or the switch was already in the asked state. */
  changed: boolean;
  alreadyActive: boolean;
  /** Whether Redis has it (else the reconciler projects it when Redis is back). */
  projected: boolean;
  workflow: { id: string; url: string; status: 'started' | 'pending' | 'starting' | 'none' };
}

export interface RunOptions {
  /** Wait for Temporal to accept the workflow (up to its timeout) before answering. */
  awaitWorkflow: boolean;
}

export interface KillSwitchServiceDeps {
  db: Database;
  publisher: FlagPublisher;
  starter: WorkflowStarter;
  logger: Logger;
  temporalUiUrl: string;
  namespace: string;
}

/**
 * The kill switch never waits on Temporal: the disable, its audit event and an outbox entry commit in
 * one statement, the change is projected and broadcast at once, and only then is the workflow started
 * (by the outbox relay if Temporal is unreachable now).
 */
export function createKillSwitchService(deps: KillSwitchServiceDeps) {
  async function run(command: KillSwitchCommand, kind: 'kill' | 'restore', options: RunOptions): Promise<KillSwitchOutcome> {
    const requestId = command.requestId ?? randomUUID();
    const workflowId = (kind === 'kill' ? killSwitchWorkflowId : restoreWorkflowId)(command.environment, command.flagKey, requestId);
    const change: KillSwitchChange = {
      flagKey: command.flagKey,
      environment: command.environment,
      workflowId,
      actor: { id: command.actor.id, name: command.actor.name },
      reason: command.reason,
      at: new Date().toISOString(),
      ipAddress: command.ipAddress ?? null,
      userAgent: command.userAgent ?? null,
    };
    const start: WorkflowStartRequest = {
      workflowType: kind === 'kill' ? 'killSwitch' : 'restoreKillSwitch',
      workflowId,
      args: [change],
      flagKey: command.flagKey,
      environment: command.environment,
      actor: command.actor.id,
      memo: { reason: command.reason, actorName: command.actor.name },
    };

    // One statement (one round trip, its own transaction) writes the change, its audit event and the
    // workflow's start in the outbox.
    const applied = await (kind === 'kill' ? applyKill : applyRestore)(deps.db, change, { kind: WORKFLOW_START, dedupeKey: workflowId, payload: start });
    const url = workflowUrl(deps.temporalUiUrl, deps.namespace, workflowId);
    if (applied.alreadyActive) {
      // No workflow ran for this request: link the one of the kill that is in force.
      const ran = (await latestKillSwitchEvent(deps.db, command.flagKey, command.environment))?.metadata.workflowId;
      const id = typeof ran === 'string' ? ran : workflowId;
      return { ...applied, projected: true, workflow: { id, url: workflowUrl(deps.temporalUiUrl, deps.namespace, id), status: 'none' } };
    }

    const projected = await deps.publisher.publish(applied.definition, kind === 'kill' ? 'flag.killed' : 'flag.restored');
    const started = startWorkflow(start);
    if (!options.awaitWorkflow) {
      // The caller must answer now (Slack's 3 s): the start finishes on its own, the outbox backs it up.
      void started;
      return { ...applied, projected, workflow: { id: workflowId, url, status: 'starting' } };
    }
    return { ...applied, projected, workflow: { id: workflowId, url, status: await started } };
  }

  /** Starts the workflow and clears its outbox entry; when Temporal is unreachable the relay starts it later. */
  async function startWorkflow(start: WorkflowStartRequest): Promise<'started' | 'pending'> {
    try {
      await deps.starter.start(start);
      await markOutboxProcessed(deps.db, start.workflowId);
      return 'started';
    } catch (error) {
      deps.logger.warn({ err: error, workflowId: start.workflowId }, 'Temporal unreachable: the change is live, its workflow waits in the outbox');
      return 'pending';
    }
  }

  return {
    /** Pulls the kill switch: the flag serves its off value everywhere. */
    activate: (command: KillSwitchCommand, options: RunOptions = { awaitWorkflow: true }) => run(command, 'kill', options),
    /** Releases the kill switch. */
    deactivate: (command: KillSwitchCommand, options: RunOptions = { awaitWorkflow: true }) => run(command, 'restore', options),
  };
}

export type KillSwitchService = ReturnType<typeof createKillSwitchService>;
