import type { Queryable } from '../connections/database.js';

export interface OutboxEntry<T = unknown> {
  id: number;
  kind: string;
  dedupeKey: string;
  payload: T;
  attempts: number;
}

/** Records work to do after commit, in the caller's transaction; a second entry with the same key is ignored. */
export async function enqueueOutbox(tx: Queryable, kind: string, dedupeKey: string, payload: unknown): Promise<void> {
  await tx.query(
    'INSERT INTO outbox (kind, dedupe_key, payload) VALUES ($1, $2, $3) ON CONFLICT (dedupe_key) DO NOTHING',
    [kind, dedupeKey, JSON.stringify(payload)],
  );
}

export async function markOutboxProcessed(db: Queryable, dedupeKey: string): Promise<void> {
  await db.query('UPDATE outbox SET processed_at = now() WHERE dedupe_key = $1 AND processed_at IS NULL', [dedupeKey]);
}

export async function markOutboxFailed(db: Queryable, id: number, error: string): Promise<void> {
  await db.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [id, error.slice(0, 1000)]);
}

/** Locks up to `limit` pending entries for this transaction; other relays skip them. */
export async function claimPendingOutbox<T>(tx: Queryable, kind: string, limit: number): Promise<OutboxEntry<T>[]> {
  const result = await tx.query<{ id: number; kind: string; dedupe_key: string; payload: T; attempts: number }>(
    `SELECT id, kind, dedupe_key, payload, attempts FROM outbox
      WHERE processed_at IS NULL AND kind = $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [kind, limit],
  );
  return result.rows.map((row) => ({ id: row.id, kind: row.kind, dedupeKey: row.dedupe_key, payload: row.payload, attempts: row.attempts }));
}
