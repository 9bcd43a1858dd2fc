import { z } from 'zod';
import { MAX_REPORTED_BREAKS, type AuditEventView, type AuditPage, type AuditVerification } from '../protocol/admin-api.js';
import type { CheckpointAnchor } from './checkpoint-anchor.js';
import type { Database } from '../connections/database.js';
import { FLAG_HISTORY_RESOURCE_TYPES, listAuditEvents, verifyAuditChain, type AuditEvent } from './audit-store.js';
import { verifyCheckpoints, type AuditCheckpoint } from './audit-checkpoint.js';
import { decodeCursor, encodeCursor } from '../protocol/cursor.js';

export interface AuditListQuery {
  flag?: string;
  actor?: string;
  action?: string;
  environment?: string;
  resource_type?: string;
  resource_id?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

const cursorSchema = z.object({ s: z.number().int().positive() });

/** The audit trail: filtered reads with cursor pagination, and a walk of the hash chain. */
/** A stored audit event as /api/v1 answers it. */
export const auditEventView = (e: AuditEvent): AuditEventView => ({
  seq: e.seq, id: e.id, timestamp: e.timestamp, user_id: e.userId, action: e.action, resource_type: e.resourceType, resource_id: e.resourceId,
  environment: e.environment, old_value: e.oldValue, new_value: e.newValue, reason: e.reason, ip_address: e.ipAddress, user_agent: e.userAgent,
  metadata: e.metadata, prev_hash: e.prevHash, hash: e.hash, actor_name: e.actorName, actor_email: e.actorEmail,
});

export function createAuditService(deps: { db: Database; checkpointKey?: string; anchor?: CheckpointAnchor }) {
  return {
    /** Events newest first; `next_cursor` continues with older ones. */
    async list(query: AuditListQuery): Promise<AuditPage> {
      const before = decodeCursor(query.cursor, cursorSchema)?.s;
      const rows = await listAuditEvents(deps.db, {
        ...(query.flag ? { resourceTypes: [...FLAG_HISTORY_RESOURCE_TYPES], resourceId: query.flag } : {}),
        ...(query.resource_type ? { resourceType: query.resource_type } : {}),
        // Rollout steps are written as config changes of the flag (action rollout.step, rollout.rollback…).
        ...(query.resource_type === 'rollout' ? { orActionPrefix: 'rollout.' } : {}),
        ...(query.resource_id ? { resourceId: query.resource_id } : {}),
        actor: query.actor, action: query.action, environment: query.environment, from: query.from, to: query.to,
        beforeSeq: before, limit: query.limit + 1,
      });
      const events = rows.slice(0, query.limit);
      return { events: events.map(auditEventView), next_cursor: rows.length > query.limit ? encodeCursor({ s: events.at(-1)!.seq }) : null };
    },

    /**
     * Recomputes every link of the chain in Postgres and reports every one that does not hold, then
     * checks every signed checkpoint (and `checkpoint`, a copy kept outside) against the chain as it is.
     */
    async verify(checkpoint?: AuditCheckpoint): Promise<AuditVerification> {
      const result = await verifyAuditChain(deps.db, undefined, MAX_REPORTED_BREAKS);
      // Redis down: the log's own checkpoints are still checked; the checks say the anchor was not read.
      const anchored = deps.checkpointKey && deps.anchor ? await deps.anchor.all().catch(() => undefined) : [];
      const checkpoints = await verifyCheckpoints(deps.db, deps.checkpointKey, checkpoint, anchored);
      const checks = [
        `chain: recomputed the digest of ${result.checked} event(s) in Postgres and checked each points at the one before`,
        checkpoints.key_configured
          ? `checkpoints: checked the HMAC signature of ${checkpoints.checked + (checkpoints.first_failed ? 1 : 0)} checkpoint(s) and that the chain still has the signed hash at each one's seq`
          : 'checkpoints: not checked (AUDIT_CHECKPOINT_KEY is not set), so a rewrite by the database owner that re-chains later rows would pass',
        ...(checkpoints.key_configured
          ? [anchored === undefined
            ? 'anchor: the checkpoints kept in Redis could not be read, so deleting the newest events would pass unnoticed'
            : `anchor: checked ${anchored.length} checkpoint(s) kept in Redis (outside Postgres), which catch the newest events deleted`]
          : []),
      ];
      return {
        ok: result.ok && checkpoints.first_failed === null,
        checks,
        checkpoints,
        checked: result.checked,
        gaps: result.lastSeq === null ? 0 : Math.max(0, result.lastSeq - result.checked),
        last_seq: result.lastSeq,
        last_hash: result.lastHash,
        first_broken: result.broken[0] ?? null,
        broken: result.broken,
        broken_count: result.brokenCount,
      };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
