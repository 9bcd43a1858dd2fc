import type { Queryable } from '../connections/database.js';
import { iso, onlyRow, touched } from '../connections/rows.js';

export interface WebhookRecord {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryRecord {
  id: string;
  webhookId: string;
  auditSeq: number;
  event: string;
  payload: Record<string, unknown>;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** A row of WEBHOOK_COLUMNS. */
interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

/** A row of webhook_deliveries. */
interface DeliveryRow {
  id: string;
  webhook_id: string;
  audit_seq: number;
  event: string;
  payload: Record<string, unknown>;
  status: DeliveryRecord['status'];
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

const toWebhook = (row: WebhookRow): WebhookRecord => ({
  id: row.id, url: row.url, events: row.events, enabled: row.enabled,
  createdBy: row.created_by, createdAt: iso(row.created_at), updatedAt: iso(row.updated_at),
});
const toDelivery = (row: DeliveryRow): DeliveryRecord => ({
  id: row.id, webhookId: row.webhook_id, auditSeq: row.audit_seq, event: row.event,
  payload: row.payload, status: row.status, attempts: row.attempts,
  lastStatusCode: row.last_status_code, lastError: row.last_error,
  createdAt: iso(row.created_at), deliveredAt: iso(row.delivered_at),
});
const WEBHOOK_COLUMNS = 'id, url, events, enabled, created_by, created_at, updated_at';

export async function insertWebhook(tx: Queryable, webhook: { url: string; secret: string; events: string[]; enabled: boolean; createdBy: string }): Promise<WebhookRecord> {
  const result = await tx.query<WebhookRow>(
    `INSERT INTO webhooks (url, secret, events, enabled, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING ${WEBHOOK_COLUMNS}`,
    [webhook.url, webhook.secret, webhook.events, webhook.enabled, webhook.createdBy],
  );
  return toWebhook(onlyRow(result));
}

export async function findWebhook(db: Queryable, id: string): Promise<WebhookRecord | null> {
  const result = await db.query<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1`, [id]);
  return result.rows[0] ? toWebhook(result.rows[0]) : null;
}

export async function listWebhooks(db: Queryable): Promise<WebhookRecord[]> {
  const result = await db.query<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at`);
  return result.rows.map(toWebhook);
}

export async function updateWebhook(tx: Queryable, id: string, patch: { url?: string; events?: string[]; enabled?: boolean }): Promise<WebhookRecord | null> {
  const result = await tx.query<WebhookRow>(
    `UPDATE webhooks SET url = coalesce($2, url), events = coalesce($3, events), enabled = coalesce($4, enabled), updated_at = now()
      WHERE id = $1 RETURNING ${WEBHOOK_COLUMNS}`,
    [id, patch.url ?? null, patch.events ?? null, patch.enabled ?? null],
  );
  return result.rows[0] ? toWebhook(result.rows[0]) : null;
}

export async function deleteWebhook(tx: Queryable, id: string): Promise<boolean> {
  return touched(await tx.query('DELETE FROM webhooks WHERE id = $1', [id]));
}

/** Enabled webhooks with their secrets, for the dispatcher and the delivery step only. */
export async function loadWebhookSecret(db: Queryable, id: string): Promise<(WebhookRecord & { secret: string }) | null> {
  const result = await db.query<WebhookRow & { secret: string }>(`SELECT ${WEBHOOK_COLUMNS}, secret FROM webhooks WHERE id = $1`, [id]);
  return result.rows[0] ? { ...toWebhook(result.rows[0]), secret: result.rows[0].secret } : null;
}

/** Records a delivery once per (webhook, audit event); returns its id, or null when it existed. */
export async function insertDelivery(tx: Queryable, delivery: { webhookId: string; auditSeq: number; event: string; payload: unknown }): Promise<string | null> {
  const result = await tx.query<{ id: string }>(
    `INSERT INTO webhook_deliveries (webhook_id, audit_seq, event, payload) VALUES ($1, $2, $3, $4)
     ON CONFLICT (webhook_id, audit_seq) DO NOTHING RETURNING id`,
    [delivery.webhookId, delivery.auditSeq, delivery.event, JSON.stringify(delivery.payload)],
  );
  return result.rows[0]?.id ?? null;
}

export async function findDelivery(db: Queryable, id: string): Promise<DeliveryRecord | null> {
  const result = await db.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = $1', [id]);
  return result.rows[0] ? toDelivery(result.rows[0]) : null;
}

export async function listDeliveries(db: Queryable, webhookId: string, limit: number): Promise<DeliveryRecord[]> {
  const result = await db.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, audit_seq DESC LIMIT $2', [webhookId, limit]);
  return result.rows.map(toDelivery);
}

/** Counts one attempt and its outcome; `final` marks the delivery succeeded or failed. */
export async function recordAttempt(
  db: Queryable,
  id: string,
  attempt: { statusCode: number | null; error: string | null; final: 'succeeded' | 'failed' | null },
): Promise<void> {
  await db.query(
    `UPDATE webhook_deliveries SET attempts = attempts + CASE WHEN $4 = 'failed' THEN 0 ELSE 1 END,
            last_status_code = coalesce($2, last_status_code), last_error = coalesce($3, last_error),
            status = coalesce($4, status), delivered_at = CASE WHEN $4 = 'succeeded' THEN now() ELSE delivered_at END, updated_at = now()
      WHERE id = $1`,
    [id, attempt.statusCode, attempt.error?.slice(0, 1000) ?? null, attempt.final],
  );
}

/** Enabled webhooks (without secrets), for the dispatcher. */
export async function listEnabledWebhooks(db: Queryable): Promise<WebhookRecord[]> {
  const result = await db.query<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE enabled`);
  return result.rows.map(toWebhook);
}

/**
 * Locks the dispatcher's position in the audit log for this transaction and returns the last seq
 * dispatched; null when another worker holds it (SKIP LOCKED), so one worker dispatches at a time.
 */
export async function lockDispatchCursor(tx: Queryable): Promise<number | null> {
  const result = await tx.query<{ last_seq: number }>('SELECT last_seq FROM webhook_dispatch_cursor WHERE id = 1 FOR UPDATE SKIP LOCKED');
  return result.rows[0]?.last_seq ?? null;
}

export async function advanceDispatchCursor(tx: Queryable, lastSeq: number): Promise<void> {
  await tx.query('UPDATE webhook_dispatch_cursor SET last_seq = $1 WHERE id = 1', [lastSeq]);
}

/** How many webhooks are stored (each has a secret): the worker and API refuse to start without the key then. */
export async function countWebhooks(db: Queryable): Promise<number> {
  return onlyRow(await db.query<{ n: number }>('SELECT count(*) AS n FROM webhooks')).n;
}

/** Secrets stored before they were encrypted at rest (no `enc:` prefix), with their row id. */
export async function listPlaintextSecrets(db: Queryable): Promise<Array<{ id: string; secret: string }>> {
  return (await db.query<{ id: string; secret: string }>(`SELECT id, secret FROM webhooks WHERE secret NOT LIKE 'enc:%' FOR UPDATE`)).rows;
}

export async function replaceWebhookSecret(tx: Queryable, id: string, secret: string): Promise<void> {
  await tx.query('UPDATE webhooks SET secret = $2 WHERE id = $1', [id, secret]);
}
