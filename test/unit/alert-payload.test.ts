import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALERT_SOURCES, parseAlertPayload } from '../../src/alerts/alert-payload.js';

// Shapes as each system documents its webhook body (trimmed to what matters, plus fields we ignore).
const alertmanager = {
  version: '4', groupKey: '{}:{alertname="HighErrorRate"}', status: 'firing', receiver: 'ripcord', externalURL: 'http://alertmanager:9093',
  alerts: [
    { status: 'firing', labels: { alertname: 'HighErrorRate', service: 'checkout' }, annotations: { summary: '5xx above 5%' }, startsAt: '2026-11-28T10:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prometheus:9090/graph?g0.expr=x', fingerprint: 'c0ffee0123456789' },
    { status: 'resolved', labels: { alertname: 'HighLatency', service: 'checkout' }, annotations: {}, startsAt: '2026-11-28T09:00:00Z', endsAt: '2026-11-28T09:30:00Z', generatorURL: 'http://prometheus:9090/graph?g0.expr=y', fingerprint: 'beef000000000001' },
  ],
};
const grafana = {
  receiver: 'ripcord', status: 'firing', orgId: 1, title: '[FIRING:1] CheckoutErrors', state: 'alerting', message: '…',
  alerts: [{ status: 'firing', labels: { alertname: 'CheckoutErrors', grafana_folder: 'shop' }, annotations: {}, fingerprint: '9a1b2c3d4e5f6a7b', dashboardURL: 'https://grafana/d/abc', panelURL: 'https://grafana/d/abc?viewPanel=2', silenceURL: 'https://grafana/alerting/silence/new' }],
};
const datadog = (transition: string) => ({ alert_id: '1234567', title: '[Triggered] Checkout error rate', transition, scope: 'service:checkout', link: 'https://app.datadoghq.com/monitors/1234567' });
const pagerduty = (eventType: string) => ({
  event: { id: '01DEN3XBSOS', event_type: eventType, resource_type: 'incident', occurred_at: '2026-11-28T10:00:00Z', data: { id: 'PGR0VU2', type: 'incident', title: 'Checkout is down', html_url: 'https://acme.pagerduty.com/incidents/PGR0VU2', status: 'triggered' } },
});

describe('alert payloads of each alerting system', () => {
  it('reads every alert of an Alertmanager delivery with its own status and fingerprint', () => {
    expect(parseAlertPayload('alertmanager', alertmanager)).toEqual({
      ok: true,
      notices: [
        { status: 'firing', fingerprint: 'c0ffee0123456789', name: 'HighErrorRate', link: 'http://prometheus:9090/graph?g0.expr=x' },
        { status: 'resolved', fingerprint: 'beef000000000001', name: 'HighLatency', link: 'http://prometheus:9090/graph?g0.expr=y' },
      ],
    });
  });

  it('reads Grafana deliveries and links the panel', () => {
    expect(parseAlertPayload('grafana', grafana)).toEqual({ ok: true, notices: [{ status: 'firing', fingerprint: '9a1b2c3d4e5f6a7b', name: 'CheckoutErrors', link: 'https://grafana/d/abc?viewPanel=2' }] });
  });

  it('fingerprints an alert without one by its labels, independent of their order', () => {
    const one = parseAlertPayload('alertmanager', { alerts: [{ status: 'firing', labels: { alertname: 'A', service: 'x' } }] });
    const two = parseAlertPayload('alertmanager', { alerts: [{ status: 'firing', labels: { service: 'x', alertname: 'A' } }] });
    const other = parseAlertPayload('alertmanager', { alerts: [{ status: 'firing', labels: { alertname: 'A', service: 'y' } }] });
    expect(one.ok && two.ok && other.ok).toBe(true);
    if (one.ok && two.ok && other.ok) {
      expect(one.notices[0]!.fingerprint).toBe(two.notices[0]!.fingerprint);
      expect(one.notices[0]!.fingerprint).not.toBe(other.notices[0]!.fingerprint);
    }
  });

  it('maps Datadog transitions: Triggered fires, Recovered resolves, the rest say nothing', () => {
    const fired = parseAlertPayload('datadog', datadog('Triggered'));
    const recovered = parseAlertPayload('datadog', datadog('Recovered'));
    expect(fired).toMatchObject({ ok: true, notices: [{ status: 'firing', name: '[Triggered] Checkout error rate', link: 'https://app.datadoghq.com/monitors/1234567' }] });
    expect(recovered).toMatchObject({ ok: true, notices: [{ status: 'resolved' }] });
    if (fired.ok && recovered.ok) expect(fired.notices[0]!.fingerprint).toBe(recovered.notices[0]!.fingerprint);
    for (const quiet of ['Warn', 'No Data', 'Renotify']) expect(parseAlertPayload('datadog', datadog(quiet))).toEqual({ ok: true, notices: [] });
  });

  it('maps PagerDuty incident events; others are ignored', () => {
    expect(parseAlertPayload('pagerduty', pagerduty('incident.triggered'))).toMatchObject({ ok: true, notices: [{ status: 'firing', name: 'Checkout is down', link: 'https://acme.pagerduty.com/incidents/PGR0VU2' }] });
    expect(parseAlertPayload('pagerduty', pagerduty('incident.resolved'))).toMatchObject({ ok: true, notices: [{ status: 'resolved' }] });
    expect(parseAlertPayload('pagerduty', pagerduty('incident.acknowledged'))).toEqual({ ok: true, notices: [] });
  });

  it('reads the generic form', () => {
    expect(parseAlertPayload('generic', { status: 'firing', name: 'disk full', fingerprint: 'f1' })).toEqual({ ok: true, notices: [{ status: 'firing', fingerprint: 'f1', name: 'disk full', link: null }] });
  });

  it('names the missing or bad field, under body', () => {
    expect(parseAlertPayload('alertmanager', { alerts: [] })).toMatchObject({ ok: false, issues: [{ path: 'body.alerts' }] });
    expect(parseAlertPayload('alertmanager', { alerts: [{ status: 'pending', labels: {} }] })).toMatchObject({ ok: false, issues: [{ path: 'body.alerts.0.status' }] });
    expect(parseAlertPayload('generic', { status: 'firing', name: 'a\u0000b' })).toMatchObject({ ok: false, issues: [{ path: 'body.name' }] });
    expect(parseAlertPayload('pagerduty', { event: { event_type: 'incident.triggered', data: {} } })).toMatchObject({ ok: false, issues: [{ path: 'body.event.data.id' }] });
    expect(parseAlertPayload('datadog', 'not json')).toMatchObject({ ok: false, issues: [{ path: 'body' }] });
  });

  it('never throws, whatever the body', () => {
    fc.assert(fc.property(fc.constantFrom(...ALERT_SOURCES), fc.anything(), (source, body) => {
      const result = parseAlertPayload(source, body);
      expect(typeof result.ok).toBe('boolean');
    }));
  });
});
