import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, stackService, startStack, uniqueKey, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stackService('up', 'temporal'); // leave the stack as we found it, even when a test failed
  await stack?.close();
});

describe('kill switch while Temporal is down', () => {
  it('still turns the flag off, and the outbox starts the workflow once Temporal is back, auditing once', async () => {
    const key = uniqueKey('outage');
    await stack.request('POST', '/api/v1/flags', { body: { key, name: 'Outage', type: 'boolean' } });
    await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: true, off_value: false } });
    const evaluate = () =>
      stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: 'u' } }, headers: { 'x-environment': 'production' } });
    await eventually(async () => (await evaluate()).body?.value === true, 'the flag to serve true');

    await stackService('down', 'temporal');
    const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'temporal is down' } });
    expect(kill.body).toMatchObject({ changed: true, workflow: { status: 'starting' } });
    expect(kill.status).toBe(201);
    const off = await evaluate();
    expect(off.body).toMatchObject({ value: false, reason: 'DISABLED' });
    const ready = await stack.request('GET', '/readyz', { token: null });
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ postgres: { status: 'ok' }, redis: { status: 'ok' }, temporal: { status: 'down' } });
    const pending = await stack.db.query('SELECT processed_at FROM outbox WHERE dedupe_key = $1', [kill.body.workflow.id]);
    expect(pending.rows).toEqual([{ processed_at: null }]);

    await stackService('up', 'temporal');
    const handle = stack.temporal.workflow.getHandle(kill.body.workflow.id);
    await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', 'the relayed workflow to complete', 60_000);
    const audit = await stack.db.query('SELECT count(*)::int AS n FROM audit_events WHERE metadata->>$1 = $2 AND action = $3', [
      'workflowId', kill.body.workflow.id, 'kill_switch.activated',
    ]);
    expect(audit.rows[0].n).toBe(1);
    // The relay marks the row after Temporal accepted the start, so a quick workflow can complete first.
    await eventually(async () => {
      const processed = await stack.db.query('SELECT processed_at FROM outbox WHERE dedupe_key = $1', [kill.body.workflow.id]);
      return processed.rows[0].processed_at instanceof Date;
    }, 'the outbox row to be marked processed');
    expect((await evaluate()).body.value).toBe(false);
  });
});
