import type { AlertSource } from '../../src/domain/alert-sources.ts';
import { sampleAlertPayload, TEST_ALERT_NAME } from '../../src/domain/alert-samples.js';

/** What the trigger hook answers (and a test alert's answer, with the alert's name). */
export interface TriggerDecisionView {
  action: 'kill' | 'restore' | 'restore_requested' | 'none';
  reason?: string;
  changed?: boolean;
  change_request?: { id: string; status: string };
  workflow?: { id: string; url: string } | null;
  test_alert?: string;
}

/** The outcome of a test alert, in one sentence for people. */
export function testResultSentence(d: TriggerDecisionView, flag: string, env: string): string {
  const sent = `Test alert ${d.test_alert ?? TEST_ALERT_NAME} delivered`;
  switch (d.action) {
    case 'kill':
      return d.changed
        ? `${sent}: the trigger pulled the kill switch — ${flag} is killed in ${env}. Restore it when you are done.`
        : `${sent}: the trigger would pull the kill switch, but ${flag} was already killed in ${env}; nothing changed.`;
    case 'restore':
      return `${sent}: the trigger restored ${flag} in ${env}.`;
    case 'restore_requested':
      return `${sent}: releasing ${flag} in ${env} needs approval; the trigger made a change request.`;
    case 'none':
      return `${sent}; the trigger did nothing: ${d.reason ?? 'no reason given'}.`;
  }
}

/** A name Alertmanager accepts for a receiver, from the flag, environment and trigger. */
function receiverName(flag: string, env: string, trigger: string): string {
  const slug = `${flag}-${env}-${trigger}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return `ripcord-${slug}`.slice(0, 120);
}

/** Where the trigger's URL goes when it is not known (it is shown once, at creation). */
export const unknownTriggerUrl = (origin: string) => `${origin}/hooks/v1/triggers/<the URL shown once when the trigger was created>`;

/**
 * The Alertmanager configuration that sends alerts to a trigger: a route (under the existing top-level
 * route) and a webhook receiver; `send_resolved` only when the trigger restores on resolved. Strings are
 * JSON-quoted, which YAML reads as double-quoted scalars.
 */
export function alertmanagerSnippet(t: { flag: string; environment: string; name: string; restore_on_resolved: boolean }, url: string): string {
  const receiver = JSON.stringify(receiverName(t.flag, t.environment, t.name));
  return [
    `# alertmanager.yml: alerts that match this route kill ${t.flag} in ${t.environment} through the trigger ${JSON.stringify(t.name)}.`,
    'route:',
    '  routes:          # beside your existing routes',
    `    - receiver: ${receiver}`,
    '      matchers:',
    `        - ${JSON.stringify('alertname="HighErrorRate"')}   # the alerts that should kill it: yours here`,
    '      continue: true   # they still reach your other receivers',
    'receivers:',
    `  - name: ${receiver}`,
    '    webhook_configs:',
    `      - url: ${JSON.stringify(url)}   # a secret: or url_file, a file holding it`,
    `        send_resolved: ${t.restore_on_resolved ? 'true    # resolved alerts restore the flag' : 'false   # this trigger does not restore'}`,
    '',
  ].join('\n');
}

/** A curl command that posts one firing alert in the trigger's format, as its alerting system would. */
export function curlExample(source: AlertSource, url: string): string {
  const body = JSON.stringify(sampleAlertPayload(source, { name: TEST_ALERT_NAME, id: 'curl-example-1', status: 'firing' }));
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `curl -X POST -H 'content-type: application/json' \\\n  --data ${quote(body)} \\\n  ${quote(url)}`;
}
