/**
 * A kill or a restore as written to PostgreSQL (the API's and the workflow's step alike): one
 * statement — one round trip — locks the config, writes the kill switch at the environment's next
 * revision, appends one audit event naming the actor and queues the workflow's start, or writes
 * nothing at all. Real PostgreSQL; no API request goes through here except to create the flags.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/connections/database.js';
import { ConflictError, NotFoundError } from '../../src/errors.js';
import { applyKill, applyRestore, type KillSwitchChange, type QueuedWork } from '../../src/kill-switch/kill-change.js';
import { startStack, uniqueKey, type Stack } from './harness.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({}, { worker: false });
});

afterAll(async () => {
  await stack?.close();
});

async function newFlag(): Promise<string> {
  const key = uniqueKey('kill-change');
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: true, off_value: false } });
  expect(put.status).toBe(200);
  return key;
}

const ACTOR = { id: 'user-42', name: 'Ada Lovelace' };

function changeOf(flagKey: string, overrides: Partial<KillSwitchChange> = {}): KillSwitchChange {
  return {
    flagKey, environment: 'production', workflowId: `kill-switch:production:${flagKey}:${randomUUID()}`, actor: ACTOR,
    reason: 'errors spiking', at: '2026-12-08T01:00:00.000Z', ipAddress: '10.0.0.7', userAgent: 'test', ...overrides,
  };
}

const queued = (change: KillSwitchChange): QueuedWork => ({ kind: 'workflow.start', dedupeKey: change.workflowId, payload: { workflowId: change.workflowId } });

/** The database as a Queryable that counts the statements sent through it. */
function counting(): { db: Queryable; statements: () => number } {
  let count = 0;
  const db = new Proxy(stack.db, {
    get(target, property, receiver) {
      if (property === 'query') return (...args: unknown[]) => (count++, (target.query as (...a: unknown[]) => unknown).apply(target, args));
      return Reflect.get(target, property, receiver);
    },
  });
  return { db, statements: () => count };
}

async function stored(flagKey: string) {
  const result = await stack.db.query(
    `SELECT c.kill_switch, c.version, c.updated_by, e.revision FROM flag_configs c JOIN flags f ON f.id = c.flag_id JOIN environments e ON e.key = c.environment
      WHERE f.key = $1 AND c.environment = 'production'`, [flagKey]);
  return result.rows[0] as { kill_switch: Record<string, unknown>; version: number; updated_by: string; revision: number };
}

async function auditOf(flagKey: string) {
  const result = await stack.db.query(
    `SELECT user_id, action, old_value, new_value, reason, ip_address, metadata, idempotency_key, hash <> '' AS chained
       FROM audit_events WHERE resource_type = 'flag' AND resource_id = $1 AND action LIKE 'kill_switch.%' ORDER BY seq`, [flagKey]);
  return result.rows as Array<Record<string, unknown>>;
}

async function outboxOf(dedupeKey: string): Promise<number> {
  return (await stack.db.query('SELECT count(*)::int AS n FROM outbox WHERE dedupe_key = $1', [dedupeKey])).rows[0].n as number;
}

describe('kill-switch change', () => {
  it('writes the kill, its one audit event and its outbox entry in one statement', async () => {
    const key = await newFlag();
    const change = changeOf(key);
    const { db, statements } = counting();

    const applied = await applyKill(db, change, queued(change));

    expect(statements()).toBe(1);
    expect(applied).toMatchObject({ changed: true, alreadyActive: false });
    const row = await stored(key);
    expect(row.kill_switch).toEqual({ enabled: true, reason: 'errors spiking', triggered_by: 'Ada Lovelace', triggered_at: change.at });
    // The environment's next revision, as every config change takes it.
    expect(row.version).toBe(row.revision);
    expect(row.updated_by).toBe(ACTOR.id);
    expect(applied.definition).toMatchObject({ key, environment: 'production', version: row.version, config: { enabled: true, value: true, kill_switch: row.kill_switch } });
    expect(await auditOf(key)).toEqual([{
      user_id: ACTOR.id, action: 'kill_switch.activated', old_value: { enabled: false }, new_value: row.kill_switch, reason: 'errors spiking',
      ip_address: '10.0.0.7', metadata: { workflowId: change.workflowId, actorName: 'Ada Lovelace' }, idempotency_key: `${change.workflowId}:audit`, chained: true,
    }]);
    expect(await outboxOf(change.workflowId)).toBe(1);
  });

  it('a retry of the same change writes nothing, even after a later restore', async () => {
    const key = await newFlag();
    const change = changeOf(key);
    const first = await applyKill(stack.db, change, queued(change));
    const restore = changeOf(key, { workflowId: `restore:${randomUUID()}` });
    await applyRestore(stack.db, restore);

    const again = await applyKill(stack.db, change, queued(change));

    expect(again).toMatchObject({ changed: false, alreadyActive: false });
    expect((await stored(key)).kill_switch).toEqual({ enabled: false });
    expect(again.definition.version).toBeGreaterThan(first.definition.version);
    expect((await auditOf(key)).map((e) => e.action)).toEqual(['kill_switch.activated', 'kill_switch.deactivated']);
    expect(await outboxOf(change.workflowId)).toBe(1);
  });

  it("a second kill finds the first one's: already active, no audit event and no workflow of its own", async () => {
    const key = await newFlag();
    const first = await applyKill(stack.db, changeOf(key));
    const second = changeOf(key, { actor: { id: 'user-7', name: 'Grace Hopper' } });

    const applied = await applyKill(stack.db, second, queued(second));

    expect(applied).toMatchObject({ changed: false, alreadyActive: true, definition: { version: first.definition.version } });
    expect((await stored(key)).kill_switch).toMatchObject({ triggered_by: 'Ada Lovelace' });
    expect(await auditOf(key)).toHaveLength(1);
    expect(await outboxOf(second.workflowId)).toBe(0);
  });

  it('refuses to restore a kill switch that is not on, writing nothing', async () => {
    const key = await newFlag();
    const before = await stored(key);
    await expect(applyRestore(stack.db, changeOf(key))).rejects.toThrow(ConflictError);
    expect(await stored(key)).toEqual(before);
    expect(await auditOf(key)).toEqual([]);
  });

  it('says which is missing: the flag, the environment, or the flag is archived', async () => {
    const key = await newFlag();
    const unknown = uniqueKey('nope');
    await expect(applyKill(stack.db, changeOf(unknown))).rejects.toThrow(NotFoundError);
    await expect(applyKill(stack.db, changeOf(unknown))).rejects.toThrow(`Flag '${unknown}' does not exist`);
    await expect(applyKill(stack.db, changeOf(key, { environment: 'nowhere' }))).rejects.toThrow("Environment 'nowhere' does not exist");
    await stack.db.query('UPDATE flags SET archived_at = now() WHERE key = $1', [key]);
    await expect(applyKill(stack.db, changeOf(key))).rejects.toThrow(`Flag '${key}' does not exist`);
    expect(await auditOf(key)).toEqual([]);
  });

  it('a failure part way loses nothing: the config, audit event and outbox entry commit together or not at all', async () => {
    const key = await newFlag();
    const before = await stored(key);
    const change = changeOf(key);
    // The outbox refuses a row without a dedupe key: the last part of the statement fails.
    const broken = { ...queued(change), dedupeKey: null as unknown as string };

    await expect(applyKill(stack.db, change, broken)).rejects.toThrow(/dedupe_key/);

    expect(await stored(key)).toEqual(before);
    expect(await auditOf(key)).toEqual([]);
  });

  it('the same change sent twice at once is applied once; two different kills at once make one kill', async () => {
    const key = await newFlag();
    const change = changeOf(key);
    const twice = await Promise.all([applyKill(stack.db, change, queued(change)), applyKill(stack.db, change, queued(change))]);
    expect(twice.map((a) => a.changed).sort()).toEqual([false, true]);
    // The one that waited saw the other's audit event: a repeat, not somebody else's kill.
    expect(twice.find((a) => !a.changed)).toMatchObject({ alreadyActive: false });
    expect(await auditOf(key)).toHaveLength(1);
    expect(await outboxOf(change.workflowId)).toBe(1);

    const other = await newFlag();
    const kills = [changeOf(other), changeOf(other)];
    const both = await Promise.all(kills.map((k) => applyKill(stack.db, k, queued(k))));
    expect(both.map((a) => a.alreadyActive).sort()).toEqual([false, true]);
    expect(await auditOf(other)).toHaveLength(1);
    expect((await outboxOf(kills[0]!.workflowId)) + (await outboxOf(kills[1]!.workflowId))).toBe(1);
  });
});
