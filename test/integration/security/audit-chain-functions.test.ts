import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../harness.js';
import { scratchDatabase } from '../scratch-db.js';
import { guardedRedisUrl } from '../test-target.js';

/**
 * The audit chain's SQL functions resolve names in a fixed search_path: the application role cannot
 * steer the chain trigger with a TEMP table named audit_events (which its session's search_path puts
 * first), so it picks neither the seq nor the prev_hash of its insert. And /audit/verify reports every
 * break of the chain, not only the first.
 *
 * On a database of its own (and the test worker's Redis index, flushed only through the wipe guard):
 * the attack, were it to work, would break the chain of the database the file's other stacks use.
 */

const scratch = scratchDatabase('ripcord_audit_chain_test');
const redisUrl = guardedRedisUrl();
let stack: Stack;

async function flushRedis(): Promise<void> {
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
}

beforeAll(async () => {
  await scratch.createMigrated();
  await flushRedis();
  stack = await startStack({ DATABASE_URL: scratch.appUrl, MIGRATION_DATABASE_URL: scratch.ownerUrl, REDIS_URL: redisUrl }, { worker: false });
});
afterAll(async () => {
  await stack?.close();
  await scratch.drop();
  await flushRedis();
});

const verify = async () => {
  const response = await stack.request('GET', '/api/v1/audit/verify');
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
};

/** Appends one event as the application role, the way the stores do. */
async function appendEvent(db: pg.Pool | pg.PoolClient, action: string): Promise<{ seq: number; prev_hash: string; hash: string }> {
  const { rows } = await db.query(
    `INSERT INTO audit_events (user_id, action, resource_type, resource_id) VALUES ('tester', $1, 'test', 'chain') RETURNING seq::int, prev_hash, hash`,
    [action],
  );
  return rows[0];
}

const head = async () => (await stack.ownerDb.query('SELECT seq::int, hash FROM public.audit_events ORDER BY seq DESC LIMIT 1')).rows[0] as { seq: number; hash: string };

describe('the chain trigger under a TEMP table named audit_events (as the application role)', () => {
  it('takes seq and prev_hash from public.audit_events, whatever the session shadows', async () => {
    await appendEvent(stack.db, 'test.before');
    const before = await head();
    const client = new pg.Client({ connectionString: scratch.appUrl });
    await client.connect();
    let inserted: { seq: number; prev_hash: string };
    try {
      await client.query('BEGIN');
      await client.query('CREATE TEMP TABLE audit_events (seq bigserial, hash text)');
      await client.query(`SELECT setval(pg_get_serial_sequence('audit_events', 'seq'), 1000000)`);
      await client.query(`INSERT INTO audit_events (hash) VALUES ('forged-head')`);
      // Even with pg_temp named first explicitly, and the public table named in full.
      await client.query('SET LOCAL search_path TO pg_temp, public');
      const { rows } = await client.query(
        `INSERT INTO public.audit_events (user_id, action, resource_type, resource_id) VALUES ('attacker', 'test.shadowed', 'test', 'chain') RETURNING seq::int, prev_hash`,
      );
      inserted = rows[0];
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
    expect(inserted.prev_hash).toBe(before.hash);
    expect(inserted.seq).toBeGreaterThan(before.seq);
    expect(inserted.seq).toBeLessThan(1_000_000);
    expect(await verify()).toMatchObject({ ok: true, first_broken: null, broken: [] });
  });

  it('every function of the schema pins its search_path (pg_catalog, pg_temp last)', async () => {
    const { rows } = await stack.ownerDb.query(
      `SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY p.proname`,
    );
    expect(rows.map((r) => r.proname)).toEqual(expect.arrayContaining(['audit_event_digest', 'audit_events_append_only', 'audit_events_chain']));
    for (const row of rows) expect(row.proconfig, row.proname).toEqual(['search_path=pg_catalog, pg_temp']);
  });
});

describe('/audit/verify', () => {
  it('reports every break of the chain, in order, not only the first', async () => {
    for (let i = 0; i < 6; i++) await appendEvent(stack.db, `test.event${i}`);
    const { rows: events } = await stack.ownerDb.query(`SELECT seq::int, id, hash FROM audit_events WHERE action LIKE 'test.event%' ORDER BY seq`);
    const [altered1, beforeRemoved, removed, , altered2] = events as Array<{ seq: number; id: string; hash: string }>;
    const successor = events[3] as { seq: number; id: string; hash: string };
    const client = new pg.Client({ connectionString: scratch.ownerUrl });
    await client.connect();
    try {
      // The schema owner alone can do this (the application role may not: db-roles-and-audit-anchor).
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete');
      await client.query(`UPDATE audit_events SET reason = 'rewritten' WHERE seq = ANY($1)`, [[altered1!.seq, altered2!.seq]]);
      await client.query('DELETE FROM audit_events WHERE seq = $1', [removed!.seq]);
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete');
    } finally {
      await client.end();
    }
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.broken).toEqual([
      expect.objectContaining({ seq: altered1!.seq, id: altered1!.id, problem: 'hash_mismatch', actual: altered1!.hash }),
      expect.objectContaining({ seq: successor.seq, id: successor.id, problem: 'prev_hash_mismatch', expected: beforeRemoved!.hash, actual: removed!.hash }),
      expect.objectContaining({ seq: altered2!.seq, id: altered2!.id, problem: 'hash_mismatch', actual: altered2!.hash }),
    ]);
    expect(result.broken_count).toBe(3);
    expect(result.first_broken).toEqual(result.broken[0]);
    // Every event was walked, not only those before the first break.
    const { rows: [{ n }] } = await stack.ownerDb.query('SELECT count(*)::int AS n FROM audit_events');
    expect(result.checked).toBe(n);
  });
});
