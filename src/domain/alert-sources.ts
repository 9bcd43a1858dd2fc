/** The alerting systems whose webhook payloads a trigger understands (one adapter each, src/alerts/alert-payload.ts). */
export const ALERT_SOURCES = ['alertmanager', 'grafana', 'datadog', 'pagerduty', 'generic'] as const;
export type AlertSource = (typeof ALERT_SOURCES)[number];
