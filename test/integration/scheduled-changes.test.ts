import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('scheduled changes', () => {
  it('applies a change at its time, exactly once, and lists it', async () => {
    const key = uniqueKey('scheduled');
    await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'string' } });
    const base = `/api/v1/flags/${key}/environments/production/scheduled-changes`;
    const at = new Date(Date.now() + 3_000).toISOString();
    const scheduled = await stack.request('POST', base, {
      body: { at, config: { enabled: true, value: 'winter', off_value: 'plain' }, reason: 'campaign starts' },
    });
    expect(scheduled.status).toBe(201);
    expect(scheduled.body.workflow_id).toBe(`scheduled:production:${key}:${scheduled.body.id}`);

    const evaluate = () =>
      stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: {} }, headers: { 'x-environment': 'production' } });
    const applied = await eventually(async () => {
      const response = await evaluate();
      return response.body?.value === 'winter' ? response : undefined;
    }, 'the scheduled change to apply', 20_000);
    expect(applied.body.reason).toBe('STATIC');

    await stack.temporal.workflow.getHandle(scheduled.body.workflow_id).result();
    // Applied once, and not before its time: read from the audit log's own clock, not from when this
    // test happened to look (a slow machine may not look before `at`).
    const audit = await stack.db.query(
      `SELECT reason, metadata->>'changeId' AS change_id, "timestamp" >= $2::timestamptz AS on_time
         FROM audit_events WHERE resource_id = $1 AND action = 'flag.config.scheduled_update'`,
      [key, at],
    );
    expect(audit.rows).toEqual([{ reason: 'campaign starts', change_id: scheduled.body.id, on_time: true }]);
    const earlierChanges = await stack.db.query(
      `SELECT action FROM audit_events WHERE resource_id = $1 AND action LIKE 'flag.config.%' AND "timestamp" < $2::timestamptz`,
      [key, at],
    );
    expect(earlierChanges.rows).toEqual([]);
    const listed = await eventually(async () => {
      const list = await stack.request('GET', base);
      return list.body.changes?.[0]?.status === 'COMPLETED' ? list.body.changes : undefined;
    }, 'the listing to show the completed change');
    expect(listed[0]).toMatchObject({ id: scheduled.body.id, at, reason: 'campaign starts' });
  });

  it('cancels a pending change, which then never applies', async () => {
    const key = uniqueKey('scheduled');
    await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } });
    const base = `/api/v1/flags/${key}/environments/production/scheduled-changes`;
    const scheduled = await stack.request('POST', base, {
      body: { at: new Date(Date.now() + 3600_000).toISOString(), config: { enabled: true, value: true, off_value: false } },
    });
    const cancelled = await stack.request('DELETE', `${base}/${scheduled.body.id}`);
    expect(cancelled.status).toBe(200);
    const description = await eventually(async () => {
      const d = await stack.temporal.workflow.getHandle(scheduled.body.workflow_id).describe();
      return d.status.name === 'CANCELLED' ? d : undefined;
    }, 'the workflow to be cancelled');
    expect(description.status.name).toBe('CANCELLED');
    expect((await stack.request('DELETE', `${base}/${scheduled.body.id}`)).status).toBe(409);
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.enabled).toBe(false);
  });

  it('refuses bad input with the field named', async () => {
    const key = uniqueKey('scheduled');
    await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'number' } });
    const base = `/api/v1/flags/${key}/environments/production/scheduled-changes`;
    const past = await stack.request('POST', base, { body: { at: '2020-01-01T00:00:00Z', config: { enabled: true, value: 1, off_value: 0 } } });
    expect(past.status).toBe(400);
    expect(past.body.error.details[0].path).toBe('body.at');
    const wrongType = await stack.request('POST', base, {
      body: { at: new Date(Date.now() + 60_000).toISOString(), config: { enabled: true, value: 'one', off_value: 0 } },
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.details.map((d: { path: string }) => d.path)).toContain('body.config.value');
    expect((await stack.request('DELETE', `${base}/not-a-uuid`)).status).toBe(400);
    expect((await stack.request('DELETE', `${base}/8f1d1f7e-9c55-4a2b-9f3e-0c1d2e3f4a5b`)).status).toBe(404);
  });
});
