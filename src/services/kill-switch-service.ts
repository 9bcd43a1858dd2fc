import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { NotFoundError } from '../errors.js';
import { killConfirmationSchema, type KillConfirmation, type KillSwitchStatus } from '../protocol/admin-api.js';
import { latestKillSwitchEvent } from '../stores/audit-store.js';
import { findConfig, findFlag } from '../stores/flag-store.js';
import { unknownFlag } from './unknown-flag.js';
import type { Actor } from '../auth/principal.js';
import type { FlagDefinition } from '../domain/flag.js';
import type { Logger } from '../logger.js';
import { withTransaction, type Database } from '../stores/database.js';
import { enqueueOutbox, markOutboxProcessed } from '../stores/outbox-store.js';
import { killSwitchWorkflowId, restoreWorkflowId, workflowUrl } from '../temporal/workflow-ids.js';
import type { WorkflowStartRequest, WorkflowStarter } from '../temporal/workflow-starter.js';
import type { FlagPublisher } from './flag-publisher.js';
import { applyKill, applyRestore, type KillSwitchChange } from './kill-change.js';
import { WORKFLOW_START } from './outbox-relay.js';

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
 * one transaction, the change is projected and broadcast at once, and only then is the workflow started
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

    const applied = await withTransaction(deps.db, async (tx) => {
      const result = await (kind === 'kill' ? applyKill : applyRestore)(tx, change);
      if (result.changed) await enqueueOutbox(tx, WORKFLOW_START, workflowId, start);
      return result;
    });
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

  /** The kill switch's state, and the last kill or restore with its workflow and per-replica confirmation. */
  async function status(flagKey: string, environment: string): Promise<KillSwitchStatus> {
    const flag = await findFlag(deps.db, flagKey);
    if (!flag) throw await unknownFlag(deps.db, flagKey);
    const config = await findConfig(deps.db, flag.id, environment);
    if (!config) throw new NotFoundError(`Environment '${environment}' does not exist`);
    const event = await latestKillSwitchEvent(deps.db, flagKey, environment);
    const workflowId = typeof event?.metadata.workflowId === 'string' ? event.metadata.workflowId : null;
    let last: KillSwitchStatus['last'] = null;
    if (event && workflowId) {
      const recorded = confirmationFrom(event.metadata.confirmation);
      const { status: workflowStatus, confirmation } = recorded
        ? { status: 'COMPLETED', confirmation: recorded }
        : await workflowOutcome(workflowId);
      last = {
        action: event.action === 'kill_switch.activated' ? 'kill' : 'restore', at: event.timestamp, actorName: event.actorName,
        reason: event.reason, workflow: { id: workflowId, url: workflowUrl(deps.temporalUiUrl, deps.namespace, workflowId), status: workflowStatus },
        confirmation,
      };
    }
    return { flag: flagKey, environment, kill_switch: config.config.kill_switch, last };
  }

  /** Asks Temporal how the workflow ended (bounded: the answer must not hang on a Temporal outage). */
  async function workflowOutcome(workflowId: string): Promise<{ status: string; confirmation: KillConfirmation | null }> {
    const handle = deps.starter.client.workflow.getHandle(workflowId);
    try {
      const description = await withDeadline(handle.describe(), 2_000);
      if (description.status.name !== 'COMPLETED') return { status: description.status.name, confirmation: null };
      const result = await withDeadline(handle.result(), 2_000);
      return { status: 'COMPLETED', confirmation: confirmationFrom(result) };
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return { status: 'PENDING', confirmation: null };
      return { status: 'UNKNOWN', confirmation: null };
    }
  }

  return {
    status,
    /** Pulls the kill switch: the flag serves its off value everywhere. */
    activate: (command: KillSwitchCommand, options: RunOptions = { awaitWorkflow: true }) => run(command, 'kill', options),
    /** Releases the kill switch. */
    deactivate: (command: KillSwitchCommand, options: RunOptions = { awaitWorkflow: true }) => run(command, 'restore', options),
  };
}

/** Reads a confirmation in either shape a kill workflow records: `{confirmedReplicas, …}` or its `convergence`. */
export function confirmationFrom(value: unknown): KillConfirmation | null {
  const direct = killConfirmationSchema.safeParse(value);
  if (direct.success) return direct.data;
  const holder = value as { confirmation?: unknown; convergence?: { replicas?: unknown; elapsedMs?: unknown; laggards?: unknown } } | null;
  if (holder && typeof holder === 'object') {
    const nested = killConfirmationSchema.safeParse(holder.confirmation);
    if (nested.success) return nested.data;
    const c = holder.convergence;
    if (c && typeof c.replicas === 'number' && typeof c.elapsedMs === 'number' && Array.isArray(c.laggards)) {
      const laggards = c.laggards.map(String);
      return { confirmedReplicas: c.replicas - laggards.length, totalReplicas: c.replicas, elapsedMs: c.elapsedMs, laggards };
    }
  }
  return null;
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export type KillSwitchService = ReturnType<typeof createKillSwitchService>;
