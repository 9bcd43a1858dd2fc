import type { PipelineProgress } from '../domain/release-pipeline.js';
import type { Queryable } from '../connections/database.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { upsertPipeline } from './release-pipeline-store.js';

/** A release pipeline's state as its workflow reports it. */
export interface PipelineRecord {
  pipelineId: string;
  flagKey: string;
  workflowId: string;
  actor: string;
  progress: PipelineProgress;
}

/** Writes the pipeline's latest state to its read model; its end is audited once (a retry writes nothing twice). */
export async function recordPipeline(db: Queryable, record: PipelineRecord): Promise<void> {
  await upsertPipeline(db, record);
  const { status, reason, template } = record.progress;
  if (status === 'completed' || status === 'stopped' || status === 'failed') {
    await appendAuditEvent(db, {
      userId: 'release-pipeline', action: `pipeline.${status}`, resourceType: 'release_pipeline', resourceId: record.flagKey,
      reason, newValue: { phases: record.progress.phases.map((p) => ({ name: p.name, environment: p.environment, status: p.status, breach: p.breach })) },
      metadata: { actorName: 'release pipeline', startedBy: record.actor, pipelineId: record.pipelineId, workflowId: record.workflowId, template },
      idempotencyKey: `pipeline:${record.pipelineId}:${status}`,
    });
  }
}
