import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, uniqueKey, type Stack } from './harness.js';
import { auditEvents, createEnvironmentToken, createFlag, createUser } from './governance-helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const maxSeq = async () => Number((await stack.db.query('SELECT coalesce(max(seq), 0) AS seq FROM audit_events')).rows[0].seq);

describe('audit log', () => {
  it('writes exactly one event, with who, what, old/new, IP, user agent, environment and reason, for every mutating route', async () => {
    const key = await createFlag(stack, 'audited');
    const segment = uniqueKey('seg');
    const user = await createUser(stack, 'viewer');
    const { id: tokenId } = await createEnvironmentToken(stack, 'client', 'staging');
    const headers = { 'user-agent': 'audit-test/1.0', 'x-audit-reason': 'because the test says so' };

    type Step = [method: string, path: () => string, body: unknown, action: string, environment: string | null];
    const steps: Step[] = [
      ['POST', () => '/api/v1/flags', { key: `${key}-2`, name: 'Second', type: 'string' }, 'flag.created', null],
      ['PATCH', () => `/api/v1/flags/${key}`, { description: 'described' }, 'flag.updated', null],
      ['PUT', () => `/api/v1/flags/${key}/environments/staging`, { enabled: true, value: true, off_value: false }, 'flag.config.updated', 'staging'],
      ['POST', () => `/api/v1/flags/${key}/environments/production/copy`, { from: 'staging' }, 'flag.config.copied', 'production'],
      ['POST', () => `/api/v1/flags/${key}/environments/production/kill-switch`, { reason: 'because the test says so' }, 'kill_switch.activated', 'production'],
      ['DELETE', () => `/api/v1/flags/${key}/environments/production/kill-switch`, { reason: 'because the test says so' }, 'kill_switch.deactivated', 'production'],
      ['POST', () => `/api/v1/flags/${key}-2/archive`, undefined, 'flag.archived', null],
      ['POST', () => `/api/v1/flags/${key}-2/unarchive`, undefined, 'flag.unarchived', null],
      ['POST', () => `/api/v1/flags/${key}-2/archive`, undefined, 'flag.archived', null],
      ['DELETE', () => `/api/v1/flags/${key}-2`, undefined, 'flag.deleted', null],
      ['POST', () => '/api/v1/segments', { key: segment, kind: 'list', members: ['a'] }, 'segment.created', null],
      ['PUT', () => `/api/v1/segments/${segment}`, { name: 'Renamed' }, 'segment.updated', null],
      ['POST', () => `/api/v1/segments/${segment}/members`, { add: ['b'] }, 'segment.members.changed', null],
      ['DELETE', () => `/api/v1/segments/${segment}`, undefined, 'segment.deleted', null],
      ['POST', () => '/api/v1/users', { email: `${uniqueKey('new')}@example.com`, name: 'New', role: 'viewer' }, 'user.created', null],
      ['PATCH', () => `/api/v1/users/${user.id}`, { role: 'editor' }, 'user.updated', null],
      ['PUT', () => `/api/v1/users/${user.id}/grants`, { grants: [{ resource: 'flag', action: 'kill_switch', conditions: { environments: ['staging'] } }] }, 'user.grants.updated', null],
      ['POST', () => '/api/v1/tokens', { name: 'ci', kind: 'server', environment: 'development' }, 'token.created', 'development'],
      ['DELETE', () => `/api/v1/tokens/${tokenId}`, undefined, 'token.revoked', 'staging'],
      ['DELETE', () => `/api/v1/users/${user.id}`, undefined, 'user.deactivated', null],
    ];
    for (const [method, path, body, action, environment] of steps) {
      const before = await maxSeq();
      const response = await stack.request(method, path(), { body, headers });
      expect(response.status, `${method} ${path()}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
      const rows = (await stack.db.query('SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq', [before])).rows;
      expect(rows.map((r) => r.action), `${method} ${path()}`).toEqual([action]);
      expect(rows[0]).toMatchObject({ user_id: 'bootstrap-admin', environment, reason: 'because the test says so', user_agent: 'audit-test/1.0' });
      expect(rows[0].ip_address).toMatch(/127\.0\.0\.1/);
      expect(rows[0].metadata.actorName).toContain('bootstrap');
    }
    // Old and new values are recorded; a token's secret never is.
    const [config] = await auditEvents(stack, { flag: key, action: 'flag.config.updated' });
    expect(config).toMatchObject({ old_value: { enabled: false }, new_value: { enabled: true } });
    const tokenEvents = await auditEvents(stack, { action: 'token.created' });
    expect(JSON.stringify(tokenEvents)).not.toMatch(/rc_(client|server|admin)_[A-Za-z0-9_-]{32}/);
  });

  it('a refused change writes nothing', async () => {
    const key = await createFlag(stack, 'refused');
    const viewer = await createUser(stack, 'viewer');
    const before = await maxSeq();
    expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { token: viewer.token, body: { enabled: true, value: true, off_value: false } })).status).toBe(403);
    expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { body: { enabled: 'yes' } })).status).toBe(400);
    expect(await maxSeq()).toBe(before);
  });

  it('filters by flag, actor, action and time range, newest first, with cursor pages', async () => {
    const editor = await createUser(stack, 'editor');
    const key = await createFlag(stack, 'filtered');
    const from = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 5; i++) {
      const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/development`, {
        token: editor.token, body: { enabled: i % 2 === 0, value: true, off_value: false },
      });
      expect(put.status).toBe(200);
    }
    const byActor = await stack.request('GET', `/api/v1/audit?actor=${editor.id}&limit=2`);
    expect(byActor.body.events).toHaveLength(2);
    expect(byActor.body.events[0].seq).toBeGreaterThan(byActor.body.events[1].seq);
    const seen: number[] = byActor.body.events.map((e: { seq: number }) => e.seq);
    let cursor = byActor.body.next_cursor;
    while (cursor) {
      const page = await stack.request('GET', `/api/v1/audit?actor=${editor.id}&limit=2&cursor=${cursor}`);
      seen.push(...page.body.events.map((e: { seq: number }) => e.seq));
      cursor = page.body.next_cursor;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);

    expect(await auditEvents(stack, { flag: key, action: 'flag.config.updated', environment: 'development' })).toHaveLength(5);
    expect(await auditEvents(stack, { flag: key, from })).toHaveLength(6);
    expect(await auditEvents(stack, { flag: key, to: from })).toHaveLength(0);
    const inverted = await stack.request('GET', `/api/v1/audit?from=${encodeURIComponent(new Date().toISOString())}&to=${encodeURIComponent(from)}`);
    expect(inverted.status).toBe(400);
    expect(inverted.body.error.details[0].path).toBe('query.to');
  });
});

describe('tamper evidence', () => {
  it('refuses UPDATE, DELETE and TRUNCATE of audit events in SQL: the application role has no such privilege, the owner meets the triggers', async () => {
    await createFlag(stack, 'immutable');
    const seq = await maxSeq();
    await expect(stack.db.query("UPDATE audit_events SET reason = 'rewritten' WHERE seq = $1", [seq])).rejects.toThrow(/permission denied/);
    await expect(stack.db.query('DELETE FROM audit_events WHERE seq = $1', [seq])).rejects.toThrow(/permission denied/);
    await expect(stack.db.query('TRUNCATE audit_events')).rejects.toThrow(/permission denied/);
    await expect(stack.ownerDb.query("UPDATE audit_events SET reason = 'rewritten' WHERE seq = $1", [seq])).rejects.toThrow(/append-only/);
    await expect(stack.ownerDb.query('DELETE FROM audit_events WHERE seq = $1', [seq])).rejects.toThrow(/append-only/);
    await expect(stack.ownerDb.query('TRUNCATE audit_events')).rejects.toThrow(/append-only/);
  });

  it('finds a row altered with the trigger disabled, and a removed row, then verifies again once restored', async () => {
    const key = await createFlag(stack, 'tamper');
    await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { body: { enabled: true, value: true, off_value: false } });
    await createFlag(stack, 'after-tamper');
    const clean = await stack.request('GET', '/api/v1/audit/verify');
    expect(clean.status).toBe(200);
    expect(clean.body).toMatchObject({ ok: true, first_broken: null });
    expect(clean.body.checked).toBeGreaterThan(2);

    const [target] = (await stack.db.query("SELECT * FROM audit_events WHERE resource_id = $1 AND action = 'flag.config.updated'", [key])).rows;
    // Only the schema owner can disable triggers (the application role cannot: see db-roles-and-audit-anchor).
    const client = await stack.ownerDb.connect();
    // A byte-exact copy (timestamps to the microsecond) to put back afterwards.
    await client.query('CREATE TEMP TABLE saved_event AS SELECT * FROM audit_events WHERE seq = $1', [target.seq]);
    try {
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete');
      await client.query(`UPDATE audit_events SET new_value = jsonb_set(new_value, '{enabled}', 'false') WHERE seq = $1`, [target.seq]);
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete');
      const altered = await stack.request('GET', '/api/v1/audit/verify');
      expect(altered.body).toMatchObject({ ok: false, first_broken: { seq: target.seq, id: target.id, problem: 'hash_mismatch', actual: target.hash } });

      await client.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete');
      await client.query('UPDATE audit_events SET new_value = $2 WHERE seq = $1', [target.seq, target.new_value]);
      await client.query('DELETE FROM audit_events WHERE seq = $1', [target.seq]);
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete');
      const removed = await stack.request('GET', '/api/v1/audit/verify');
      expect(removed.body.ok).toBe(false);
      expect(removed.body.first_broken).toMatchObject({ problem: 'prev_hash_mismatch', actual: target.hash });
      expect(removed.body.first_broken.seq).toBeGreaterThan(target.seq);
    } finally {
      // Put the row back exactly as it was, so the chain holds for every later test.
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      await client.query('DELETE FROM audit_events WHERE seq = $1', [target.seq]);
      await client.query('INSERT INTO audit_events SELECT * FROM saved_event');
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
      await client.query('DROP TABLE saved_event');
      client.release();
    }
    const restored = await stack.request('GET', '/api/v1/audit/verify');
    expect(restored.body).toMatchObject({ ok: true, first_broken: null });
  });
});
