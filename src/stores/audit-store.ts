import type { Queryable } from './database.js';

/** One audit event as written (the seed's AuditEvent). */
export interface AuditEventInput {
  userId: string;
  action: string;
  resourceType: string;
  resourceId: string;
  environment?: string | null;
  oldValue?: unknown;
  newValue?: unknown;
  reason?: string | null;
  ipAddress?: string | null;
  userAgent?: string | null;
  metadata?: Record<string, unknown>;
  /** Set by steps that may run more than once; the event is then written exactly once. */
  idempotencyKey?: string;
}

export interface AuditEvent {
  seq: number;
  id: string;
  timestamp: string;
  userId: string;
  action: string;
  resourceType: string;
  resourceId: string;
  environment: string | null;
  oldValue: unknown;
  newValue: unknown;
  reason: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  metadata: Record<string, unknown>;
  hash: string;
}

const toJson = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

/** Appends an event; returns false when an event with the same idempotency key already exists. */
export async function appendAuditEvent(db: Queryable, event: AuditEventInput): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO audit_events (user_id, action, resource_type, resource_id, environment, old_value, new_value,
                               reason, ip_address, user_agent, metadata, idempotency_key, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '', '')
     ON CONFLICT (idempotency_key) DO NOTHING`,
    [
      event.userId, event.action, event.resourceType, event.resourceId, event.environment ?? null,
      toJson(event.oldValue), toJson(event.newValue), event.reason ?? null, event.ipAddress ?? null,
      event.userAgent ?? null, JSON.stringify(event.metadata ?? {}), event.idempotencyKey ?? null,
    ],
  );
  return result.rowCount === 1;
}

export interface AuditQuery {
  resourceType?: string;
  resourceId?: string;
  environment?: string;
  action?: string;
  limit?: number;
}

/** Lists events newest first, filtered. */
export async function listAuditEvents(db: Queryable, query: AuditQuery = {}): Promise<AuditEvent[]> {
  const result = await db.query(
    `SELECT seq, id, "timestamp", user_id, action, resource_type, resource_id, environment, old_value, new_value,
            reason, ip_address, user_agent, metadata, hash
       FROM audit_events
      WHERE ($1::text IS NULL OR resource_type = $1) AND ($2::text IS NULL OR resource_id = $2)
        AND ($3::text IS NULL OR environment = $3) AND ($4::text IS NULL OR action = $4)
      ORDER BY seq DESC
      LIMIT $5`,
    [query.resourceType ?? null, query.resourceId ?? null, query.environment ?? null, query.action ?? null, query.limit ?? 100],
  );
  return result.rows.map((row) => ({
    seq: row.seq,
    id: row.id,
    timestamp: (row.timestamp as Date).toISOString(),
    userId: row.user_id,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    environment: row.environment,
    oldValue: row.old_value,
    newValue: row.new_value,
    reason: row.reason,
    ipAddress: row.ip_address,
    userAgent: row.user_agent,
    metadata: row.metadata,
    hash: row.hash,
  }));
}
