import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { writeAuditCheckpoint } from '../../src/audit/audit-checkpoint.js';
import { CheckpointAnchor } from '../../src/audit/checkpoint-anchor.js';
import { createFlag } from './governance-helpers.js';
import { AUDIT_CHECKPOINT_KEY, startStack, type Stack } from './harness.js';

// /audit/verify catches the NEWEST rows are deleted by someone with owner
// rights. The chain walk can't see it (what is left still links up), and the checkpoint events in
// the log can't either: each is newer than the head it signs, so they go with the deleted rows. The
// signed checkpoints kept in Redis (outside Postgres) catch it.

let stack: Stack;
let redis: Redis;
beforeAll(async () => {
  stack = await startStack();
  redis = new Redis(process.env.REDIS_URL!);
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.close();
});

describe('audit verify with the newest events deleted', () => {
  it('reports the missing tail through a checkpoint kept in Redis, and holds again once the rows are back', async () => {
    // Events older than the signed head, so the cut below leaves a chain to verify (every file starts with an empty log).
    await createFlag(stack, 'tail-kept');
    await createFlag(stack, 'tail-before');
    // What the worker's timer does every AUDIT_CHECKPOINT_SECONDS: sign the head into the log and Redis.
    const checkpoint = await writeAuditCheckpoint(stack.db, AUDIT_CHECKPOINT_KEY, createLogger('silent', 'test'), new CheckpointAnchor(redis, stack.config.REDIS_PREFIX));
    expect(checkpoint).not.toBeNull();
    await createFlag(stack, 'tail-after');
    const clean = await stack.request('GET', '/api/v1/audit/verify');
    expect(clean.body).toMatchObject({ ok: true, first_broken: null, checkpoints: { first_failed: null } });
    expect(clean.body.checks.join('\n')).toMatch(/anchor: checked [1-9]\d* checkpoint\(s\) kept in Redis/);

    // As the schema owner: delete from the signed head onwards (its checkpoint event and everything after).
    const client = await stack.ownerDb.connect();
    await client.query('CREATE TEMP TABLE saved_tail AS SELECT * FROM audit_events WHERE seq >= $1', [checkpoint!.seq]);
    try {
      const saved = (await client.query('SELECT count(*)::int AS n FROM saved_tail')).rows[0].n as number;
      expect(saved).toBeGreaterThanOrEqual(3);
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete');
      await client.query('DELETE FROM audit_events WHERE seq >= $1', [checkpoint!.seq]);
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete');

      const cut = await stack.request('GET', '/api/v1/audit/verify');
      // The chain that is left is whole: only the checkpoint outside Postgres shows what is gone.
      expect(cut.body.first_broken).toBeNull();
      expect(cut.body.last_seq).toBeLessThan(checkpoint!.seq);
      expect(cut.body.ok).toBe(false);
      expect(cut.body.checkpoints.first_failed).toMatchObject({ source: 'anchor', seq: checkpoint!.seq, problem: 'row_missing', expected: checkpoint!.hash, actual: null });
    } finally {
      // Put the rows back byte for byte, so the chain holds for every later test.
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      await client.query('DELETE FROM audit_events WHERE seq >= $1', [checkpoint!.seq]);
      await client.query('INSERT INTO audit_events SELECT * FROM saved_tail');
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
      await client.query('DROP TABLE saved_tail');
      client.release();
    }
    const restored = await stack.request('GET', '/api/v1/audit/verify');
    expect(restored.body).toMatchObject({ ok: true, first_broken: null, checkpoints: { first_failed: null } });
  });
});
