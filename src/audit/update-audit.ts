import type { Queryable } from '../connections/database.js';
import { appendAuditEvent } from './audit-store.js';

/** A workflow update (steering a rollout or a release pipeline) that its handler applied, as it is audited. */
export interface AppliedUpdate {
  workflowId: string;
  /** The update's id (the sender sets it): with the workflow id, the event's idempotency key. */
  updateId: string;
  action: string;
  resourceType: 'rollout' | 'release_pipeline';
  resourceId: string;
  environment?: string | null;
  actor: { id: string; name: string };
  ipAddress?: string | null;
  userAgent?: string | null;
  reason?: string | null;
  newValue?: unknown;
  metadata: Record<string, unknown>;
}

/**
 * Writes the one audit event of an applied update, naming who sent it. Idempotent on the update's id:
 * the workflow's handler writes it through a retried activity, so the event exists exactly once
 * whenever the update applied, whether or not its sender waited for the answer.
 */
export async function auditAppliedUpdate(db: Queryable, update: AppliedUpdate): Promise<void> {
  await appendAuditEvent(db, {
    userId: update.actor.id, action: update.action, resourceType: update.resourceType, resourceId: update.resourceId,
    environment: update.environment ?? null, reason: update.reason ?? null, newValue: update.newValue,
    ipAddress: update.ipAddress ?? null, userAgent: update.userAgent ?? null,
    metadata: { actorName: update.actor.name, ...update.metadata, workflowId: update.workflowId, updateId: update.updateId },
    idempotencyKey: `update:${update.workflowId}:${update.updateId}`,
  });
}
