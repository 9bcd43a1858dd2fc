import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../../src/audit/audit-checkpoint.js';
import { createFlag } from '../governance-helpers.js';
import { AUDIT_CHECKPOINT_KEY, eventually, startStack, type Stack } from '../harness.js';

// The application's database role can't rewrite history: the API and worker connect as a role with
// DML only (INSERT + SELECT on audit_events), and the chain head is signed
// with a key the database never sees, so even the schema owner's rewrite is detected.

let stack: Stack;
beforeAll(async () => {
  // The worker signs a checkpoint every second here (the harness turns the timer off elsewhere).
  stack = await startStack({ AUDIT_CHECKPOINT_SECONDS: '1' });
});
afterAll(async () => {
  await stack?.close();
});

const verify = async (query = '') => {
  const response = await stack.request('GET', `/api/v1/audit/verify${query}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
};

describe('the application role (DATABASE_URL)', () => {
  it('is not the schema owner and may not change the audit table, its triggers or the schema', async () => {
    const { rows: [who] } = await stack.db.query(
      `SELECT current_user AS me, (SELECT tableowner FROM pg_tables WHERE tablename = 'audit_events') AS owner,
              (SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user) AS powerful`,
    );
    expect(who.me).not.toBe(who.owner);
    expect(who.powerful).toBe(false);

    const refused: Array<[string, RegExp]> = [
      ["UPDATE audit_events SET reason = 'rewritten' WHERE seq = (SELECT max(seq) FROM audit_events)", /permission denied/],
      ['DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)', /permission denied/],
      ['TRUNCATE audit_events', /permission denied/],
      ['ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete', /must be owner/],
      ['ALTER TABLE audit_events DISABLE TRIGGER USER', /must be owner/],
      // Refused before ownership is even asked: the role may not create in the schema at all.
      ['CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$', /must be owner|permission denied for schema public/],
      ['DROP TRIGGER audit_events_no_update_delete ON audit_events', /must be owner/],
      ['CREATE TABLE scratch (id int)', /permission denied for schema public/],
      ['DROP TABLE flags', /must be owner/],
      ['INSERT INTO pgmigrations (name, run_on) VALUES ($$x$$, now())', /permission denied/],
    ];
    for (const [sql, error] of refused) await expect(stack.db.query(sql), sql).rejects.toThrow(error);
  });

  it('still does everything the API needs: a change commits with its audit event', async () => {
    const key = await createFlag(stack, 'app-role');
    const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { body: { enabled: true, value: true, off_value: false } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const { rows } = await stack.db.query(`SELECT action FROM audit_events WHERE resource_id = $1 ORDER BY seq`, [key]);
    expect(rows.map((r) => r.action)).toEqual(['flag.created', 'flag.config.updated']);
  });
});

describe('audit checkpoints (the chain anchored outside the database)', () => {
  it('the worker signs the head into the log, the process log and a webhook delivery; verify checks them and says what it checked', async () => {
    const hook = await stack.request('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/hooks', events: ['audit.checkpoint'] } });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    const key = await createFlag(stack, 'anchored');
    const { rows: [created] } = await stack.db.query(`SELECT seq FROM audit_events WHERE resource_id = $1`, [key]);
    const event = await eventually(async () => {
      const { rows } = await stack.db.query(`SELECT * FROM audit_events WHERE action = 'audit.checkpoint' AND (new_value->>'seq')::bigint >= $1`, [created.seq]);
      return rows[0];
    }, 'a checkpoint covering the new flag');
    expect(event).toMatchObject({ user_id: 'system:audit-checkpoint', resource_type: 'audit' });
    expect(event.new_value.signature).toBe(signCheckpoint(AUDIT_CHECKPOINT_KEY, event.new_value, event.new_value.at).signature);

    const delivery = await eventually(async () => {
      const { rows } = await stack.db.query(`SELECT * FROM webhook_deliveries WHERE webhook_id = $1 AND audit_seq = $2`, [hook.body.id, event.seq]);
      return rows[0];
    }, 'the checkpoint handed to the webhook');
    expect(delivery.event).toBe('audit.checkpoint');
    expect(delivery.payload.data).toEqual(event.new_value);
    // Files after this one (checkpoints on) must not deliver to this hook.
    expect((await stack.request('DELETE', `/api/v1/webhooks/${hook.body.id}`)).status).toBe(204);

    const report = await verify();
    expect(report).toMatchObject({ ok: true, first_broken: null, checkpoints: { key_configured: true, first_failed: null } });
    expect(report.checkpoints.checked).toBeGreaterThan(0);
    expect(report.checks.join('\n')).toMatch(/recomputed the digest of \d+ event\(s\)[\s\S]*HMAC signature of \d+ checkpoint/);

    // A copy kept outside (the log line, the webhook body) is checked too; a forged one is refused.
    const copy = encodeURIComponent(JSON.stringify(event.new_value));
    expect((await verify(`?checkpoint=${copy}`)).ok).toBe(true);
    const forged = encodeURIComponent(JSON.stringify({ ...event.new_value, hash: 'f'.repeat(64) }));
    expect(await verify(`?checkpoint=${forged}`)).toMatchObject({ ok: false, checkpoints: { first_failed: { source: 'query', problem: 'signature_invalid' } } });
    const bad = await stack.request('GET', '/api/v1/audit/verify?checkpoint=not-json');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('query.checkpoint');
  });

  it("detects the owner's rewrite (triggers disabled, a row changed, every later row re-chained) that the chain walk alone passes", async () => {
    const key = await createFlag(stack, 'rewritten');
    const { rows: [target] } = await stack.db.query(`SELECT seq FROM audit_events WHERE resource_id = $1 AND action = 'flag.created'`, [key]);
    await eventually(async () => (await stack.db.query(`SELECT 1 FROM audit_events WHERE action = 'audit.checkpoint' AND (new_value->>'seq')::bigint >= $1`, [target.seq])).rowCount, 'a checkpoint after the target');
    // No checkpoint may sign the forged chain while it exists (that is what the key's secrecy prevents).
    await stack.worker!.checkpoints!.stop(); // and any checkpoint pass already running has ended

    const owner = await stack.ownerDb.connect();
    await owner.query('CREATE TEMP TABLE saved_events AS SELECT * FROM audit_events WHERE seq >= $1', [target.seq]);
    try {
      await rewriteHistory(owner, target.seq);
      const chainOnly = await verify();
      expect(chainOnly.first_broken).toBeNull(); // the re-chained log is self-consistent
      expect(chainOnly.ok).toBe(false);
      expect(chainOnly.checkpoints.first_failed).toMatchObject({ problem: 'hash_mismatch' });
      expect(chainOnly.checkpoints.first_failed.seq).toBeGreaterThanOrEqual(target.seq);
    } finally {
      // Put the log back byte for byte, so the chain holds for the tests that follow.
      await owner.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      await owner.query('DELETE FROM audit_events WHERE seq >= $1', [target.seq]);
      await owner.query('INSERT INTO audit_events SELECT * FROM saved_events');
      await owner.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
      await owner.query('DROP TABLE saved_events');
      owner.release();
    }
    expect(await verify()).toMatchObject({ ok: true, first_broken: null, checkpoints: { first_failed: null } });
  });
});

/** What an attacker with the owner's rights does: change one row, then recompute every later link. */
async function rewriteHistory(owner: pg.PoolClient, fromSeq: number): Promise<void> {
  await owner.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
  await owner.query(`UPDATE audit_events SET reason = 'nothing to see here' WHERE seq = $1`, [fromSeq]);
  const { rows } = await owner.query('SELECT seq FROM audit_events WHERE seq >= $1 ORDER BY seq', [fromSeq]);
  for (const { seq } of rows) {
    await owner.query(
      `UPDATE audit_events e SET prev_hash = p.prev, hash = audit_event_digest(p.prev, e)
         FROM (SELECT coalesce((SELECT hash FROM audit_events WHERE seq < $1 ORDER BY seq DESC LIMIT 1), '') AS prev) p
        WHERE e.seq = $1`,
      [seq],
    );
  }
  await owner.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
}
