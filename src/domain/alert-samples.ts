import type { AlertSource } from './alert-sources.js';

/** What Ripcord calls the alert it sends when someone tests a trigger. */
export const TEST_ALERT_NAME = 'RipcordTestAlert';

export interface SampleAlert {
  /** The alert's name (Alertmanager's alertname, Datadog's title, PagerDuty's incident title…). */
  name: string;
  /** Tells one alert from another: a new id is a new alert, so it fires again. */
  id: string;
  status: 'firing' | 'resolved';
}

/**
 * A webhook body in the format an alerting system sends (the shapes src/alerts/alert-payload.ts reads),
 * carrying one alert: what a trigger's test sends through the hook, and what the UI's curl example posts.
 */
export function sampleAlertPayload(source: AlertSource, alert: SampleAlert): Record<string, unknown> {
  const firing = alert.status === 'firing';
  switch (source) {
    case 'alertmanager':
    case 'grafana':
      return {
        version: '4', status: alert.status, receiver: 'ripcord',
        alerts: [{ status: alert.status, labels: { alertname: alert.name, severity: 'critical' }, annotations: { summary: `${alert.name} (sent to test a Ripcord trigger)` }, fingerprint: alert.id }],
      };
    case 'datadog':
      return { alert_id: alert.id, title: alert.name, transition: firing ? 'Triggered' : 'Recovered', scope: 'ripcord:test' };
    case 'pagerduty':
      return { event: { event_type: firing ? 'incident.triggered' : 'incident.resolved', data: { id: alert.id, title: alert.name } } };
    case 'generic':
      return { status: alert.status, name: alert.name, fingerprint: alert.id };
  }
}
