import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { appendAuditEvent, auditHashAt, auditHead, listCheckpointEvents } from './audit-store.js';
import type { CheckpointAnchor } from './checkpoint-anchor.js';
import type { Database } from '../connections/database.js';
import { periodicPass, type PeriodicPass } from '../periodic-pass.js';

/**
 * Anchors the hash chain outside the database. Whoever owns the schema can disable the triggers,
 * rewrite a row and re-chain every later one, and the chain walk still holds. A checkpoint is the
 * chain head (seq + hash) signed with an HMAC key that only the API and worker know (the environment,
 * never the database): a rewrite before a checkpoint changes the hash at its seq, and a new signature
 * cannot be forged. Checkpoints are written into the log itself (so webhooks deliver them, the log
 * being their outbox) and to the process log; `/audit/verify` checks every one it finds, and any copy
 * kept elsewhere can be checked with `?checkpoint=`.
 */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  /** When it was signed, ISO 8601. */
  at: string;
  /** Hex HMAC-SHA256 over `ripcord-audit-checkpoint/v1`, seq, hash and at, one per line. */
  signature: string;
}

export const CHECKPOINT_ACTION = 'audit.checkpoint';
export const CHECKPOINT_ACTOR = { id: 'system:audit-checkpoint', name: 'audit checkpoint (worker)' };

export const checkpointSchema = z.object({
  seq: z.number().int().positive(), hash: z.string().regex(/^[0-9a-f]{64}$/), at: z.iso.datetime(), signature: z.string().regex(/^[0-9a-f]{64}$/),
});

function signatureOf(key: string, seq: number, hash: string, at: string): string {
  return createHmac('sha256', key).update(`ripcord-audit-checkpoint/v1\n${seq}\n${hash}\n${at}`).digest('hex');
}

export function signCheckpoint(key: string, head: { seq: number; hash: string }, at = new Date().toISOString()): AuditCheckpoint {
  return { seq: head.seq, hash: head.hash, at, signature: signatureOf(key, head.seq, head.hash, at) };
}

export function signatureHolds(key: string, checkpoint: AuditCheckpoint): boolean {
  const expected = Buffer.from(signatureOf(key, checkpoint.seq, checkpoint.hash, checkpoint.at), 'hex');
  const given = Buffer.from(checkpoint.signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Signs the current head into the log, unless the head already is a checkpoint. Returns it, or null. */
export async function writeAuditCheckpoint(db: Database, key: string, logger: Logger, anchor?: CheckpointAnchor): Promise<AuditCheckpoint | null> {
  const head = await auditHead(db);
  if (!head || head.action === CHECKPOINT_ACTION) return null;
  const checkpoint = signCheckpoint(key, head);
  const written = await appendAuditEvent(db, {
    userId: CHECKPOINT_ACTOR.id, action: CHECKPOINT_ACTION, resourceType: 'audit', resourceId: String(head.seq),
    newValue: checkpoint, metadata: { actorName: CHECKPOINT_ACTOR.name },
    // Two workers signing the same head write it once.
    idempotencyKey: `${CHECKPOINT_ACTION}:${head.seq}`,
  });
  if (!written) return null;
  // Copies outside the database: whoever ships logs keeps one; Redis keeps them for /audit/verify.
  logger.info({ auditCheckpoint: checkpoint }, 'audit checkpoint');
  await anchor?.save(checkpoint).catch((err: unknown) => logger.warn({ err }, 'could not keep the audit checkpoint in Redis'));
  return checkpoint;
}

/** The worker's timer: a checkpoint every interval while the chain moves. */
export function createAuditCheckpointer(deps: { db: Database; key: string; logger: Logger; intervalMs: number; anchor?: CheckpointAnchor }): PeriodicPass {
  return periodicPass('audit checkpoint', async () => ((await writeAuditCheckpoint(deps.db, deps.key, deps.logger, deps.anchor)) ? 1 : 0), {
    logger: deps.logger, intervalMs: deps.intervalMs,
  });
}

export type CheckpointProblem = 'signature_invalid' | 'hash_mismatch' | 'row_missing' | 'malformed';
export interface CheckpointFailure {
  /** Where the checkpoint came from: the log's event seq, `query` for `?checkpoint=`, `anchor` for the copy kept in Redis. */
  source: number | 'query' | 'anchor';
  seq: number | null;
  problem: CheckpointProblem;
  expected: string | null;
  actual: string | null;
}

export interface CheckpointVerification {
  key_configured: boolean;
  checked: number;
  newest: { seq: number; at: string } | null;
  first_failed: CheckpointFailure | null;
}

/**
 * Checks checkpoints (those in the log, those kept in Redis, and one given by the caller) against
 * the chain as it is now. The Redis copy is what catches the newest rows deleted: every checkpoint
 * event is newer than the head it signs, so deleting from a signed head onwards removes those too.
 */
export async function verifyCheckpoints(db: Database, key: string | undefined, extra?: AuditCheckpoint, anchored: unknown[] = []): Promise<CheckpointVerification> {
  if (!key) return { key_configured: false, checked: 0, newest: null, first_failed: null };
  const candidates: { source: CheckpointFailure['source']; value: unknown }[] = (await listCheckpointEvents(db)).map((e) => ({ source: e.seq, value: e.newValue }));
  for (const value of anchored) candidates.push({ source: 'anchor', value });
  if (extra) candidates.push({ source: 'query', value: extra });
  let checked = 0;
  let newest: CheckpointVerification['newest'] = null;
  for (const { source, value } of candidates) {
    const parsed = checkpointSchema.safeParse(value);
    if (!parsed.success) return { key_configured: true, checked, newest, first_failed: { source, seq: null, problem: 'malformed', expected: null, actual: null } };
    const checkpoint = parsed.data;
    if (!signatureHolds(key, checkpoint)) {
      return { key_configured: true, checked, newest, first_failed: { source, seq: checkpoint.seq, problem: 'signature_invalid', expected: null, actual: checkpoint.signature } };
    }
    const actual = await auditHashAt(db, checkpoint.seq);
    if (actual !== checkpoint.hash) {
      return { key_configured: true, checked, newest, first_failed: { source, seq: checkpoint.seq, problem: actual === null ? 'row_missing' : 'hash_mismatch', expected: checkpoint.hash, actual } };
    }
    checked += 1;
    if (!newest || checkpoint.seq > newest.seq) newest = { seq: checkpoint.seq, at: checkpoint.at };
  }
  return { key_configured: true, checked, newest, first_failed: null };
}
