import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRIGGER_DELIVERIES_PER_MINUTE } from '../../src/alert-triggers/alert-trigger-service.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, onForEveryone } from './serving-helpers.js';

/**
 * Alert triggers, against the real stack: an Alertmanager `firing` delivery kills the flag
 * once through the kill-switch workflow with the trigger as the actor (repeated deliveries don't),
 * `resolved` restores only when the trigger says so and only what it killed, N alerts within a
 * window, armed only during a rollout, and the secret URL as the only credential.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const alertmanager = (status: 'firing' | 'resolved', fingerprint: string, alertname = 'CheckoutErrors') => ({
  version: '4', status, receiver: 'ripcord', externalURL: 'http://alertmanager:9093',
  alerts: [{ status, labels: { alertname, service: 'checkout' }, annotations: { summary: 'errors' }, startsAt: '2026-11-28T10:00:00Z', generatorURL: 'http://prometheus:9090/graph', fingerprint }],
});

async function newFlag(): Promise<string> {
  const key = uniqueKey('trig');
  await createFlag(stack, key, onForEveryone);
  return key;
}

async function createTrigger(key: string, body: Record<string, unknown>) {
  const created = await stack.request('POST', `/api/v1/flags/${key}/environments/production/triggers`, { body: { name: 'checkout errors', source: 'alertmanager', ...body } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as { id: string; path: string };
}

const deliver = (path: string, payload: unknown) => stack.request('POST', path, { body: payload, token: null });
const served = async (key: string) => (await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: 'u1' } } })).body.value;
const killEvents = async (key: string, action: string) =>
  (await stack.request('GET', `/api/v1/audit?flag=${key}&action=${action}`)).body.events as Array<{ user_id: string; reason: string }>;
const actorOf = (event: { user_id: string }) => event.user_id;

describe('alert triggers', () => {
  it('kills once on an Alertmanager firing delivery, as the trigger, through the kill workflow', async () => {
    const key = await newFlag();
    const trigger = await createTrigger(key, {});
    expect(trigger.path).toMatch(/^\/hooks\/v1\/triggers\/rc_trigger_[A-Za-z0-9_-]{43}$/);
    expect(await served(key)).toBe(true);

    const first = await deliver(trigger.path, alertmanager('firing', 'fp-1'));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ action: 'kill', changed: true, alerts: [{ name: 'CheckoutErrors', link: 'http://prometheus:9090/graph' }] });
    expect(await served(key)).toBe(false);
    // The same workflow as a person's kill: it runs to the end (disable, broadcast, confirm, audit, alert).
    await stack.temporal.workflow.getHandle(first.body.workflow.id).result();

    // Alertmanager re-sends firing alerts (repeat_interval, HA pairs): nothing more happens.
    for (let i = 0; i < 3; i++) expect((await deliver(trigger.path, alertmanager('firing', 'fp-1'))).body).toMatchObject({ action: 'none' });
    const kills = await killEvents(key, 'kill_switch.activated');
    expect(kills).toHaveLength(1);
    expect(actorOf(kills[0]!)).toBe(`trigger:${trigger.id}`);
    expect(kills[0]!.reason).toContain('alert CheckoutErrors firing (alertmanager, trigger "checkout errors")');

    // Resolved, without restore_on_resolved: the flag stays killed.
    expect((await deliver(trigger.path, alertmanager('resolved', 'fp-1'))).body).toMatchObject({ action: 'none' });
    expect(await served(key)).toBe(false);
  });

  it('restores on resolved only when configured, and only what it killed', async () => {
    const key = await newFlag();
    const trigger = await createTrigger(key, { restore_on_resolved: true });
    expect((await deliver(trigger.path, alertmanager('firing', 'fp-a'))).body).toMatchObject({ action: 'kill' });
    const restored = await deliver(trigger.path, alertmanager('resolved', 'fp-a'));
    expect(restored.body).toMatchObject({ action: 'restore', changed: true });
    expect(await served(key)).toBe(true);
    expect(actorOf((await killEvents(key, 'kill_switch.deactivated'))[0]!)).toBe(`trigger:${trigger.id}`);

    // A new firing episode of the same alert kills again; a person's kill is never undone by a resolve.
    expect((await deliver(trigger.path, alertmanager('firing', 'fp-a'))).body).toMatchObject({ action: 'kill', changed: true });
    await stack.request('DELETE', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'person restores' } });
    const person = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'a person pulls it' } });
    expect(person.status).toBe(201);
    const resolved = await deliver(trigger.path, alertmanager('resolved', 'fp-a'));
    expect(resolved.body).toMatchObject({ action: 'none', reason: expect.stringContaining('someone else') });
    expect(await served(key)).toBe(false);
  });

  it('can be disabled without deleting it: a disabled URL is 404 like an unknown one and never kills; enabled again it kills; counters say what it did', async () => {
    const key = await newFlag();
    const trigger = await createTrigger(key, { restore_on_resolved: true });
    const listed = async () => (await stack.request('GET', `/api/v1/flags/${key}/environments/production/triggers`)).body.triggers[0];
    expect(await listed()).toMatchObject({ enabled: true, deliveries_received: 0, kills_fired: 0, restores_fired: 0, last_delivery_at: null, last_fired_at: null, last_fired_alert: null });

    const disabled = await stack.request('PATCH', `/api/v1/triggers/${trigger.id}`, { body: { enabled: false } });
    expect(disabled.status, JSON.stringify(disabled.body)).toBe(200);
    expect(disabled.body).toMatchObject({ id: trigger.id, enabled: false });
    // Firing while disabled: the same answer as a secret that never existed, and the flag stays on.
    const unknown = await deliver(`/hooks/v1/triggers/rc_trigger_${'B'.repeat(43)}`, alertmanager('firing', 'fp-d'));
    const whileDisabled = await deliver(trigger.path, alertmanager('firing', 'fp-d'));
    expect(whileDisabled.status).toBe(404);
    expect(whileDisabled.body).toEqual(unknown.body);
    expect(await served(key)).toBe(true);
    expect(await killEvents(key, 'kill_switch.activated')).toHaveLength(0);
    // Nothing a disabled trigger is sent is recorded or counted.
    expect(await listed()).toMatchObject({ enabled: false, deliveries_received: 0, kills_fired: 0 });
    // Disabling again changes nothing and is not audited twice.
    expect((await stack.request('PATCH', `/api/v1/triggers/${trigger.id}`, { body: { enabled: false } })).body).toMatchObject({ enabled: false });

    expect((await stack.request('PATCH', `/api/v1/triggers/${trigger.id}`, { body: { enabled: true } })).body).toMatchObject({ enabled: true });
    expect((await deliver(trigger.path, { not: 'alertmanager' })).status).toBe(400);
    expect((await deliver(trigger.path, alertmanager('firing', 'fp-d', 'CheckoutLatency'))).body).toMatchObject({ action: 'kill', changed: true });
    expect(await served(key)).toBe(false);
    expect((await deliver(trigger.path, alertmanager('firing', 'fp-d', 'CheckoutLatency'))).body).toMatchObject({ action: 'none' });
    const afterKill = await listed();
    // Deliveries: the refused payload, the kill and the repeat; one kill, named.
    expect(afterKill).toMatchObject({ enabled: true, deliveries_received: 3, kills_fired: 1, restores_fired: 0, last_fired_alert: 'CheckoutLatency' });
    expect(Date.parse(afterKill.last_delivery_at)).toBeGreaterThanOrEqual(Date.parse(afterKill.last_fired_at));

    expect((await deliver(trigger.path, alertmanager('resolved', 'fp-d', 'CheckoutLatency'))).body).toMatchObject({ action: 'restore', changed: true });
    expect(await listed()).toMatchObject({ deliveries_received: 4, kills_fired: 1, restores_fired: 1, last_fired_alert: 'CheckoutLatency' });

    // Audited with the actor, once per change.
    const audited = (await stack.request('GET', `/api/v1/audit?resource_type=trigger&resource_id=${trigger.id}`)).body.events as Array<{ action: string; user_id: string; new_value: unknown }>;
    expect(audited.map((e) => e.action)).toEqual(['trigger.enabled', 'trigger.disabled', 'trigger.created']);
    expect(audited[1]).toMatchObject({ new_value: { enabled: false } });
    expect(audited[1]!.user_id).toBe(audited[2]!.user_id);

    // Bad bodies name the field; an unknown trigger is 404.
    const bad = await stack.request('PATCH', `/api/v1/triggers/${trigger.id}`, { body: { enabled: 'no' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([expect.objectContaining({ path: 'body.enabled' })]);
    expect((await stack.request('PATCH', '/api/v1/triggers/00000000-0000-4000-8000-000000000000', { body: { enabled: false } })).status).toBe(404);
  });

  it('can require N distinct alerts within the window', async () => {
    const key = await newFlag();
    const trigger = await createTrigger(key, { min_alerts: 2, window_seconds: 600 });
    expect((await deliver(trigger.path, alertmanager('firing', 'one', 'ErrorsEU'))).body).toMatchObject({ action: 'none', reason: '1 of 2 alerts firing within 600 s' });
    expect((await deliver(trigger.path, alertmanager('firing', 'one', 'ErrorsEU'))).body).toMatchObject({ action: 'none' });
    expect(await served(key)).toBe(true);
    const second = await deliver(trigger.path, alertmanager('firing', 'two', 'ErrorsUS'));
    expect(second.body).toMatchObject({ action: 'kill', alerts: [{ name: 'ErrorsEU' }, { name: 'ErrorsUS' }] });
    expect(await served(key)).toBe(false);
  });

  it('can be armed only while a rollout runs', async () => {
    const key = await newFlag();
    const trigger = await createTrigger(key, { only_during_rollout: true });
    expect((await deliver(trigger.path, alertmanager('firing', 'x'))).body).toMatchObject({ action: 'none', reason: expect.stringContaining('not armed') });
    expect(await served(key)).toBe(true);

    await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: true, off_value: false, rollout: { percentage: 0, strategy: 'gradual' } } });
    const started = await stack.request('POST', `/api/v1/flags/${key}/environments/production/rollouts`, { body: { plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] } } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    await eventually(async () => (await stack.request('GET', `/api/v1/flags/${key}/environments/production/rollouts`)).body.rollouts[0]?.status === 'running', 'the rollout to run', 30_000);
    expect((await deliver(trigger.path, alertmanager('firing', 'x'))).body).toMatchObject({ action: 'kill' });
    await stack.request('POST', `/api/v1/flags/${key}/environments/production/rollouts/current/abort`, { body: { rollback: false, reason: 'test over' } });
  });

  it('understands Grafana, Datadog, PagerDuty and the generic form', async () => {
    const cases: Array<[string, unknown]> = [
      ['grafana', { status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'G' }, fingerprint: 'g1', panelURL: 'https://grafana/p' }] }],
      ['datadog', { alert_id: '42', title: 'D', transition: 'Triggered', scope: 'service:x', link: 'https://dd/m/42' }],
      ['pagerduty', { event: { event_type: 'incident.triggered', data: { id: 'P1', title: 'PD', html_url: 'https://pd/i/P1' } } }],
      ['generic', { status: 'firing', name: 'J' }],
    ];
    for (const [source, payload] of cases) {
      const key = await newFlag();
      const trigger = await createTrigger(key, { source });
      expect((await deliver(trigger.path, payload)).body, source).toMatchObject({ action: 'kill' });
      expect(await served(key)).toBe(false);
    }
  });

  it('treats the URL as the credential: unknown, malformed and deleted secrets are 404; bad payloads 400 naming the field', async () => {
    const key = await newFlag();
    const trigger = await createTrigger(key, {});
    expect((await deliver(`/hooks/v1/triggers/rc_trigger_${'A'.repeat(43)}`, alertmanager('firing', 'f'))).status).toBe(404);
    expect((await deliver('/hooks/v1/triggers/nonsense', alertmanager('firing', 'f'))).status).toBe(404);
    const bad = await deliver(trigger.path, { alerts: [{ status: 'pending', labels: {} }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([expect.objectContaining({ path: 'body.alerts.0.status' })]);

    // Only the secret's hash is stored, and listing never shows the path.
    const secret = trigger.path.split('/').at(-1)!;
    const rows = (await stack.db.query('SELECT secret_hash, row_to_json(t)::text AS whole FROM alert_triggers t WHERE id = $1', [trigger.id])).rows;
    expect(rows[0].secret_hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(rows[0].whole).not.toContain(secret);
    const listed = await stack.request('GET', `/api/v1/flags/${key}/environments/production/triggers`);
    expect(listed.body.triggers).toEqual([expect.objectContaining({ id: trigger.id, source: 'alertmanager' })]);
    expect(JSON.stringify(listed.body)).not.toContain(secret);

    expect((await stack.request('DELETE', `/api/v1/triggers/${trigger.id}`)).status).toBe(204);
    expect((await deliver(trigger.path, alertmanager('firing', 'f'))).status).toBe(404);
    expect(await served(key)).toBe(true);
    const audited = (await stack.request('GET', `/api/v1/audit?resource_type=trigger&resource_id=${trigger.id}`)).body.events.map((e: { action: string }) => e.action);
    expect(audited).toEqual(['trigger.deleted', 'trigger.created']);
  });

  it('refuses a trigger past its per-minute budget (the shared token bucket) with 429 and Retry-After; other triggers keep theirs', async () => {
    const key = await newFlag();
    const noisy = await createTrigger(key, {});
    const quiet = await createTrigger(key, { name: 'quiet' });
    const bad = { not: 'an alertmanager payload' };
    // A storm at once: the bucket holds a minute's worth, so all but about that many are refused.
    // Meanwhile, how many database sessions wait for a lock (the trigger's row): the API delivers to one
    // trigger one at a time, so at most one waits; the others wait in memory, holding no pooled connection.
    let stormOver = false;
    let mostWaitingOnLocks = 0;
    const watching = (async () => {
      for (let i = 0; i < 2_000 && !stormOver; i += 1) {
        const { rows } = await stack.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        mostWaitingOnLocks = Math.max(mostWaitingOnLocks, rows[0]!.n);
      }
    })();
    const storm = await Promise.all(Array.from({ length: TRIGGER_DELIVERIES_PER_MINUTE + 60 }, () => deliver(noisy.path, bad)));
    stormOver = true;
    await watching;
    expect(mostWaitingOnLocks).toBeLessThanOrEqual(1);
    const statuses = storm.map((r) => r.status);
    expect(statuses.filter((s) => s !== 400 && s !== 429)).toEqual([]);
    expect(statuses.filter((s) => s === 400).length).toBeGreaterThanOrEqual(TRIGGER_DELIVERIES_PER_MINUTE);
    const refused = storm.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.body.error.code).toBe('RATE_LIMITED');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect((await deliver(quiet.path, bad)).status).toBe(400);
    expect(await served(key)).toBe(true);
  });

  it('needs the kill-switch right to create, disable or delete, and a client token can do none', async () => {
    const key = await newFlag();
    const client = await stack.request('POST', '/api/v1/tokens', { body: { name: uniqueKey('c'), kind: 'client', environment: 'production' } });
    const denied = await stack.request('POST', `/api/v1/flags/${key}/environments/production/triggers`, { body: { name: 'x', source: 'generic' }, token: client.body.token });
    expect(denied.status).toBe(403);
    const trigger = await createTrigger(key, { source: 'generic' });
    expect((await stack.request('PATCH', `/api/v1/triggers/${trigger.id}`, { token: client.body.token, body: { enabled: false } })).status).toBe(403);
    expect((await stack.request('DELETE', `/api/v1/triggers/${trigger.id}`, { token: client.body.token })).status).toBe(403);
  });

  it('rotates its secret: the old URL is 404 at once, the new one kills; the secret is in no audit event', async () => {
    const key = await newFlag();
    const trigger = await createTrigger(key, {});
    expect((await deliver(trigger.path, alertmanager('resolved', 'fp-r'))).status).toBe(200);
    const rotated = await stack.request('POST', `/api/v1/triggers/${trigger.id}/rotate-secret`);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(rotated.body).toMatchObject({ id: trigger.id, enabled: true });
    expect(rotated.body.path).toMatch(/^\/hooks\/v1\/triggers\/rc_trigger_[A-Za-z0-9_-]{43}$/);
    expect(rotated.body.path).not.toBe(trigger.path);

    // The old secret passed the hook's door before: it is refused all the same.
    expect((await deliver(trigger.path, alertmanager('firing', 'fp-r'))).status).toBe(404);
    expect(await served(key)).toBe(true);
    const fired = await deliver(rotated.body.path, alertmanager('firing', 'fp-r'));
    expect(fired.body).toMatchObject({ action: 'kill', changed: true });
    expect(await served(key)).toBe(false);

    const { rows } = await stack.db.query(`SELECT user_id, old_value::text AS old, new_value::text AS new FROM audit_events WHERE resource_id = $1 AND action = 'trigger.secret_rotated'`, [trigger.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].user_id).toBe('bootstrap-admin');
    const secrets = [trigger.path, rotated.body.path].map((p: string) => p.split('/').at(-1)!);
    for (const secret of secrets) expect(JSON.stringify(rows[0])).not.toContain(secret);
  });
});
