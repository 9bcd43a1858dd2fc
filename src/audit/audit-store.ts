import type { Queryable } from '../connections/database.js';
import { iso, touched } from '../connections/rows.js';

/** One audit event as written. */
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
  prevHash: string;
  hash: string;
  /** The acting user's name and email when the actor is a user (joined at read time), else the name the event recorded. */
  actorName: string | null;
  actorEmail: string | null;
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

/**
 * The resource types of a flag's history, each event's resource id being the flag's key: its own
 * events, its rollouts', scheduled changes', release pipelines' and change requests' (created,
 * approved, rejected, withdrawn, conflicted, failed).
 */
export const FLAG_HISTORY_RESOURCE_TYPES = ['flag', 'rollout', 'scheduled_change', 'release_pipeline', 'change_request'] as const;

export interface AuditQuery {
  resourceType?: string;
  resourceId?: string;
  environment?: string;
  /** An action's full name (with a dot: exact), or a word (no dot: every action containing it, e.g. kill). */
  action?: string;
  /** The acting user's id. */
  userId?: string;
  /** The actor's id, or part of their name or email (case-insensitive). */
  actor?: string;
  /** Several resource types (a flag's history spans flag, rollout and scheduled_change events). */
  resourceTypes?: string[];
  /** Also matches events whose action starts with this (rollout steps are config changes of type flag). */
  orActionPrefix?: string;
  /** Inclusive lower and exclusive upper bound on the timestamp (ISO 8601). */
  from?: string;
  to?: string;
  /** Events older than this sequence number (cursor pagination, newest first). */
  beforeSeq?: number;
  limit?: number;
}

const EVENT_COLUMNS = `e.seq, e.id, e."timestamp", e.user_id, e.action, e.resource_type, e.resource_id, e.environment, e.old_value,
            e.new_value, e.reason, e.ip_address, e.user_agent, e.metadata, e.prev_hash, e.hash,
            coalesce(u.name, e.metadata->>'actorName') AS actor_name, u.email AS actor_email`;
// user_id is text (the bootstrap admin and rollout guards are not users): compare as text, never cast.
const JOIN_USERS = 'LEFT JOIN users u ON u.id::text = e.user_id';

/** A row of EVENT_COLUMNS. */
interface EventRow {
  seq: number;
  id: string;
  timestamp: Date;
  user_id: string;
  action: string;
  resource_type: string;
  resource_id: string;
  environment: string | null;
  old_value: unknown;
  new_value: unknown;
  reason: string | null;
  ip_address: string | null;
  user_agent: string | null;
  metadata: Record<string, unknown>;
  prev_hash: string;
  hash: string;
  actor_name: string | null;
  actor_email: string | null;
}

function toEvent(row: EventRow): AuditEvent {
  return {
    seq: row.seq,
    id: row.id,
    timestamp: iso(row.timestamp),
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
    prevHash: row.prev_hash,
    hash: row.hash,
    actorName: row.actor_name,
    actorEmail: row.actor_email,
  };
}

/** Whether an event with this idempotency key was written: the mark that a retried step already happened. */
export async function auditEventExists(db: Queryable, idempotencyKey: string): Promise<boolean> {
  return touched(await db.query('SELECT 1 FROM audit_events WHERE idempotency_key = $1', [idempotencyKey]));
}

/** The old value of the event written under `idempotencyKey` (null when there is none). */
export async function auditOldValue(db: Queryable, idempotencyKey: string): Promise<unknown> {
  const result = await db.query<{ old_value: unknown }>('SELECT old_value FROM audit_events WHERE idempotency_key = $1', [idempotencyKey]);
  return result.rows[0]?.old_value ?? null;
}

/** Events after `afterSeq`, oldest first: how the webhook dispatcher walks the log. */
export async function listAuditEventsAfter(db: Queryable, afterSeq: number, limit: number): Promise<AuditEvent[]> {
  const result = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM audit_events e ${JOIN_USERS} WHERE e.seq > $1 ORDER BY e.seq LIMIT $2`, [afterSeq, limit]);
  return result.rows.map(toEvent);
}

/** Lists events newest first, filtered; each with its actor's name and email. */
export async function listAuditEvents(db: Queryable, query: AuditQuery = {}): Promise<AuditEvent[]> {
  const actorPattern = query.actor ? `%${query.actor.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const result = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS}
       FROM audit_events e ${JOIN_USERS}
      WHERE ($1::text IS NULL OR e.resource_type = $1 OR e.action LIKE $13) AND ($2::text IS NULL OR e.resource_id = $2)
        AND ($3::text IS NULL OR e.environment = $3) AND ($4::text IS NULL OR e.action = $4 OR (strpos($4, '.') = 0 AND strpos(e.action, $4) > 0))
        AND ($5::text IS NULL OR e.user_id = $5)
        AND ($6::timestamptz IS NULL OR e."timestamp" >= $6) AND ($7::timestamptz IS NULL OR e."timestamp" < $7)
        AND ($8::bigint IS NULL OR e.seq < $8)
        AND ($10::text IS NULL OR e.user_id = $11 OR u.name ILIKE $10 OR u.email ILIKE $10 OR e.metadata->>'actorName' ILIKE $10)
        AND ($12::text[] IS NULL OR e.resource_type = ANY($12))
      ORDER BY e.seq DESC
      LIMIT $9`,
    [
      query.resourceType ?? null, query.resourceId ?? null, query.environment ?? null, query.action ?? null,
      query.userId ?? null, query.from ?? null, query.to ?? null, query.beforeSeq ?? null, query.limit ?? 100,
      actorPattern, query.actor ?? null, query.resourceTypes ?? null,
      query.orActionPrefix ? `${query.orActionPrefix}%` : null,
    ],
  );
  return result.rows.map(toEvent);
}

/** A link of the chain that does not hold. */
export interface BrokenLink {
  seq: number;
  id: string;
  /** `hash_mismatch`: the row's content no longer gives its hash (it was altered). `prev_hash_mismatch`: it does not
   * point at the row before it (a row was removed, inserted or re-chained). */
  problem: 'hash_mismatch' | 'prev_hash_mismatch';
  expected: string;
  actual: string;
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  lastSeq: number | null;
  lastHash: string | null;
  /** Every break in chain order, the first `maxReported` of them. */
  broken: BrokenLink[];
  /** Every break, counted. */
  brokenCount: number;
}

/**
 * Walks the whole chain in batches, recomputing every digest in SQL with the same function the insert
 * trigger uses, and checks that each row points at its predecessor. Goes on past a break, judging each
 * row against the hash stored in the one before it, so one altered row is one break and a removed row
 * one break at its successor: every break is found, of which the first `maxReported` are listed.
 */
export async function verifyAuditChain(db: Queryable, batchSize = 5_000, maxReported = 1_000): Promise<ChainVerification> {
  let afterSeq = 0;
  let previousHash = '';
  let checked = 0;
  let lastSeq: number | null = null;
  const broken: BrokenLink[] = [];
  let brokenCount = 0;
  const report = (link: BrokenLink) => {
    brokenCount += 1;
    if (broken.length < maxReported) broken.push(link);
  };
  for (;;) {
    const result = await db.query<{ seq: number; id: string; prev_hash: string; hash: string; recomputed: string }>(
      `SELECT seq, id, prev_hash, hash, audit_event_digest(e.prev_hash, e) AS recomputed
         FROM audit_events e WHERE seq > $1 ORDER BY seq LIMIT $2`,
      [afterSeq, batchSize],
    );
    for (const row of result.rows) {
      if (row.prev_hash !== previousHash) report({ seq: row.seq, id: row.id, problem: 'prev_hash_mismatch', expected: previousHash, actual: row.prev_hash });
      if (row.recomputed !== row.hash) report({ seq: row.seq, id: row.id, problem: 'hash_mismatch', expected: row.recomputed, actual: row.hash });
      checked += 1;
      previousHash = row.hash;
      lastSeq = row.seq;
      afterSeq = row.seq;
    }
    if (result.rows.length < batchSize) return { ok: brokenCount === 0, checked, lastSeq, lastHash: previousHash || null, broken, brokenCount };
  }
}

/** The newest event of the chain (its head), or null for an empty log. */
export async function auditHead(db: Queryable): Promise<{ seq: number; hash: string; action: string } | null> {
  const result = await db.query<{ seq: number; hash: string; action: string }>('SELECT seq, hash, action FROM audit_events ORDER BY seq DESC LIMIT 1');
  return result.rows[0] ?? null;
}

/** The hash the chain holds today at `seq`, or null when that row is gone. */
export async function auditHashAt(db: Queryable, seq: number): Promise<string | null> {
  const result = await db.query<{ hash: string }>('SELECT hash FROM audit_events WHERE seq = $1', [seq]);
  return result.rows[0]?.hash ?? null;
}

/** Every checkpoint recorded in the log (`audit.checkpoint` events), oldest first. */
export async function listCheckpointEvents(db: Queryable): Promise<{ seq: number; newValue: unknown }[]> {
  const result = await db.query<{ seq: number; new_value: unknown }>(`SELECT seq, new_value FROM audit_events WHERE action = 'audit.checkpoint' ORDER BY seq`);
  return result.rows.map((row) => ({ seq: row.seq, newValue: row.new_value }));
}

/** The last kill or restore recorded for a flag in one environment (its workflow id is in the metadata). */
export async function latestKillSwitchEvent(db: Queryable, flagKey: string, environment: string): Promise<AuditEvent | null> {
  const result = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM audit_events e ${JOIN_USERS}
      WHERE e.resource_type = 'flag' AND e.resource_id = $1 AND e.environment = $2
        AND e.action IN ('kill_switch.activated', 'kill_switch.deactivated')
      ORDER BY e.seq DESC LIMIT 1`,
    [flagKey, environment],
  );
  return result.rows[0] ? toEvent(result.rows[0]) : null;
}

/**
 * The name each of these resources had the last time the audit log recorded one (in an event's new
 * value, else its old value): how a trigger or anything since deleted is still named on screens.
 */
export async function auditedNames(db: Queryable, resourceType: string, ids: readonly string[]): Promise<Array<{ id: string; name: string }>> {
  if (ids.length === 0) return [];
  const result = await db.query<{ id: string; name: string }>(
    `SELECT DISTINCT ON (resource_id) resource_id AS id, COALESCE(new_value->>'name', old_value->>'name') AS name
       FROM audit_events
      WHERE resource_type = $1 AND resource_id = ANY($2::text[]) AND COALESCE(new_value->>'name', old_value->>'name') IS NOT NULL
      ORDER BY resource_id, seq DESC`,
    [resourceType, ids],
  );
  return result.rows;
}
