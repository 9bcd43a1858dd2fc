import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, onForEveryone } from './serving-helpers.js';

/**
 * A trigger's test alert (POST /api/v1/triggers/{id}/test), against the real stack: it is delivered as
 * one from the trigger's URL is, so it kills the flag through the kill-switch workflow as the trigger;
 * a trigger that needs more alerts says so and kills nothing; a disabled one is refused; the user who
 * sent it is in the audit log with what it did.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

async function flagWithTrigger(body: Record<string, unknown>) {
  const key = uniqueKey('trig-test');
  await createFlag(stack, key, onForEveryone);
  const created = await stack.request('POST', `/api/v1/flags/${key}/environments/production/triggers`, { body: { name: 'checkout errors', ...body } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { key, id: created.body.id as string };
}
const served = async (key: string) => (await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: 'u1' } } })).body.value;
const audit = async (key: string, action: string) => (await stack.request('GET', `/api/v1/audit?flag=${key}&action=${action}`)).body.events as Array<Record<string, unknown>>;
const triggerEvents = async (id: string, action: string) => (await stack.request('GET', `/api/v1/audit?resource_type=trigger&resource_id=${id}&action=${action}`)).body.events as Array<Record<string, unknown>>;

describe('alert trigger test alerts', () => {
  it('kills the flag as a real alert would, as the trigger, and records who sent the test', async () => {
    const { key, id } = await flagWithTrigger({ source: 'alertmanager' });
    expect(await served(key)).toBe(true);
    const answer = await stack.request('POST', `/api/v1/triggers/${id}/test`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toMatchObject({ action: 'kill', changed: true, test_alert: 'RipcordTestAlert', alerts: [{ name: 'RipcordTestAlert' }] });
    expect(answer.body.workflow.id).toMatch(/^killswitch:production:/);
    expect(await served(key)).toBe(false);
    const [kill] = await audit(key, 'kill_switch.activated');
    expect(kill).toMatchObject({ user_id: `trigger:${id}`, actor_name: 'checkout errors (alert trigger)' });
    expect(kill!.reason).toContain('alert RipcordTestAlert firing (alertmanager, trigger "checkout errors")');
    const [sent] = await triggerEvents(id, 'trigger.test_sent');
    expect(sent).toMatchObject({ user_id: 'bootstrap-admin', resource_type: 'trigger', resource_id: id, new_value: { alert: 'RipcordTestAlert', action: 'kill' } });
    const [listed] = (await stack.request('GET', `/api/v1/flags/${key}/environments/production/triggers`)).body.triggers;
    expect(listed).toMatchObject({ deliveries_received: 1, kills_fired: 1, last_fired_alert: 'RipcordTestAlert' });
    // A second test is a new alert: delivered, counted; the flag is killed already.
    const again = await stack.request('POST', `/api/v1/triggers/${id}/test`);
    expect(again.body).toMatchObject({ action: 'kill', changed: false });
  });

  it('says why it did nothing when the trigger waits for more alerts, and kills nothing', async () => {
    const { key, id } = await flagWithTrigger({ source: 'pagerduty', min_alerts: 3, window_seconds: 60 });
    const answer = await stack.request('POST', `/api/v1/triggers/${id}/test`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ action: 'none', reason: '1 of 3 alerts firing within 60 s', test_alert: 'RipcordTestAlert' });
    expect(await served(key)).toBe(true);
    const [sent] = await triggerEvents(id, 'trigger.test_sent');
    expect(sent).toMatchObject({ new_value: { action: 'none', reason: '1 of 3 alerts firing within 60 s' } });
  });

  it('refuses a disabled trigger (409) and an unknown one (404), and checks the id (400)', async () => {
    const { key, id } = await flagWithTrigger({ source: 'generic' });
    expect((await stack.request('PATCH', `/api/v1/triggers/${id}`, { body: { enabled: false } })).status).toBe(200);
    const disabled = await stack.request('POST', `/api/v1/triggers/${id}/test`);
    expect(disabled.status).toBe(409);
    expect(disabled.body.error.message).toBe('The trigger "checkout errors" is disabled: enable it to send a test alert');
    expect(await served(key)).toBe(true);
    expect((await stack.request('POST', '/api/v1/triggers/00000000-0000-4000-8000-000000000000/test')).status).toBe(404);
    const bad = await stack.request('POST', '/api/v1/triggers/nope/test');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('params.id');
  });
});
