import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AlertSource } from '../domain/alert-sources.js';
import { text } from '../domain/text.js';

/**
 * What an alerting system's webhook says, whatever its format: each alert it carries, firing or
 * resolved, with a fingerprint that stays the same for one alert across repeated deliveries.
 * One adapter per source; each reads only the fields it needs and refuses a body without them.
 */
export { ALERT_SOURCES, type AlertSource } from '../domain/alert-sources.js';

export interface AlertNotice {
  status: 'firing' | 'resolved';
  fingerprint: string;
  /** What people call the alert (Alertmanager's alertname, PagerDuty's incident title …). */
  name: string;
  /** Where to read about it, when the payload has a link. */
  link: string | null;
}

const label = text(512);
const link = text(2048).optional().nullable();
const fingerprintOf = (...parts: string[]) => createHash('sha256').update(parts.join('\u0001')).digest('hex').slice(0, 32);

// Alertmanager's webhook (version 4) and Grafana's, which keeps its shape and adds fields of its own.
const prometheusAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), label),
  annotations: z.record(z.string(), text(4096)).optional(),
  fingerprint: text(128).optional(),
  startsAt: text(64).optional(),
  generatorURL: link,
  dashboardURL: link,
  panelURL: link,
});
const prometheusBody = z.object({ alerts: z.array(prometheusAlert).min(1, 'at least one alert').max(1_000), externalURL: link });

function fromPrometheus(body: z.infer<typeof prometheusBody>): AlertNotice[] {
  return body.alerts.map((alert) => {
    const labels = Object.entries(alert.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`);
    return {
      status: alert.status,
      // Alertmanager's fingerprint is a hash of the labels; a payload without one gets ours, of the same.
      fingerprint: alert.fingerprint ?? fingerprintOf(...labels),
      name: alert.labels.alertname ?? alert.annotations?.summary ?? 'alert',
      link: alert.panelURL ?? alert.dashboardURL ?? alert.generatorURL ?? body.externalURL ?? null,
    };
  });
}

// Datadog's webhook integration sends the payload template the operator writes; the README gives
// this one: {"alert_id":"$ALERT_ID","title":"$EVENT_TITLE","transition":"$ALERT_TRANSITION","scope":"$ALERT_SCOPE","link":"$LINK"}.
const datadogBody = z.object({
  alert_id: text(128).min(1),
  title: text(512).min(1),
  transition: text(64).min(1),
  scope: text(1024).optional(),
  link,
});

function fromDatadog(body: z.infer<typeof datadogBody>): AlertNotice[] {
  const transition = body.transition.toLowerCase();
  // Triggered and Re-Triggered fire; Recovered resolves; warnings, no-data and renotifications do nothing.
  const status = transition === 'triggered' || transition === 're-triggered' ? 'firing' : transition === 'recovered' ? 'resolved' : null;
  if (!status) return [];
  return [{ status, fingerprint: fingerprintOf(body.alert_id, body.scope ?? ''), name: body.title, link: body.link ?? null }];
}

// PagerDuty webhooks (v3): one event per delivery, about an incident.
const pagerdutyBody = z.object({
  event: z.object({
    event_type: text(64).min(1),
    data: z.object({ id: text(64).min(1), title: text(1024).optional(), html_url: link }),
  }),
});

function fromPagerDuty(body: z.infer<typeof pagerdutyBody>): AlertNotice[] {
  const type = body.event.event_type;
  const status = type === 'incident.triggered' || type === 'incident.reopened' ? 'firing' : type === 'incident.resolved' ? 'resolved' : null;
  if (!status) return [];
  const { data } = body.event;
  return [{ status, fingerprint: fingerprintOf('pagerduty', data.id), name: data.title ?? `incident ${data.id}`, link: data.html_url ?? null }];
}

// Anything else that can send JSON: one alert per call.
const genericBody = z.object({
  status: z.enum(['firing', 'resolved']),
  fingerprint: text(128).min(1).optional(),
  name: text(512).min(1).optional(),
  link,
});

function fromGeneric(body: z.infer<typeof genericBody>): AlertNotice[] {
  const name = body.name ?? 'alert';
  return [{ status: body.status, fingerprint: body.fingerprint ?? fingerprintOf('generic', name), name, link: body.link ?? null }];
}

const ADAPTERS = {
  alertmanager: [prometheusBody, fromPrometheus],
  grafana: [prometheusBody, fromPrometheus],
  datadog: [datadogBody, fromDatadog],
  pagerduty: [pagerdutyBody, fromPagerDuty],
  generic: [genericBody, fromGeneric],
} as const;

export type AlertPayloadResult = { ok: true; notices: AlertNotice[] } | { ok: false; issues: Array<{ path: string; message: string }> };

/** The alerts a webhook body carries, or the fields it lacks (paths start with `body`). */
export function parseAlertPayload(source: AlertSource, body: unknown): AlertPayloadResult {
  const [schema, adapt] = ADAPTERS[source];
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    return { ok: false, issues: parsed.error.issues.map((issue) => ({ path: ['body', ...issue.path.map(String)].join('.'), message: issue.message })) };
  }
  return { ok: true, notices: (adapt as (b: unknown) => AlertNotice[])(parsed.data) };
}
