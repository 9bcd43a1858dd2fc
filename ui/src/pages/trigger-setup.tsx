import { useState } from 'react';
import type { AlertSource } from '../../../src/domain/alert-sources.ts';
import { TEST_ALERT_NAME } from '../../../src/domain/alert-samples.ts';
import type { AlertTrigger } from '../../../src/protocol/admin-api.ts';
import { alertmanagerSnippet, curlExample, testResultSentence, unknownTriggerUrl, type TriggerDecisionView } from '../alert-trigger-help.ts';
import { enc } from '../api.ts';
import { ErrorBox, useAction, WorkflowLink, WriteButton } from '../components.tsx';
import { useConfirm } from '../confirm.tsx';
import type { Decision } from '../../../src/auth/rbac.ts';
import { useSession } from '../session.tsx';

export const SOURCE_NAMES: Record<AlertSource, string> = {
  alertmanager: 'Prometheus Alertmanager', grafana: 'Grafana', datadog: 'Datadog', pagerduty: 'PagerDuty', generic: 'generic JSON',
};

/** Where each system takes a webhook URL (Alertmanager gets a whole snippet). */
const WHERE: Record<Exclude<AlertSource, 'alertmanager'>, string> = {
  grafana: 'Grafana: Alerting → Contact points → New contact point → Webhook, with this URL (method POST).',
  datadog: 'Datadog: Integrations → Webhooks → New, with this URL and the payload {"alert_id":"$ALERT_ID","title":"$EVENT_TITLE","transition":"$ALERT_TRANSITION","scope":"$ALERT_SCOPE","link":"$LINK"}; then @webhook-<name> in the monitor.',
  pagerduty: 'PagerDuty: Integrations → Generic Webhooks (v3) → New webhook, with this URL and the incident.triggered, incident.reopened and incident.resolved events.',
  generic: 'Anything that can POST JSON: {"status":"firing"|"resolved","name":"…","fingerprint":"…"}.',
};

/** A text to copy, with a Copy button that says whether the clipboard took it. */
function CopyBlock({ label, text, testId }: { label: string; text: string; testId: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('yes');
    } catch {
      setCopied('no');
    }
  };
  return (
    <div className="copy-block">
      <div className="actions"><strong className="small">{label}</strong><button type="button" onClick={() => void copy()}>{copied === 'yes' ? 'Copied' : `Copy ${label.toLowerCase()}`}</button></div>
      <pre className="cr-value" data-testid={testId}>{text}</pre>
      {copied === 'no' && <p className="field-error">The browser refused the clipboard: select the text and copy it by hand.</p>}
    </div>
  );
}

/**
 * How to connect an alerting system to one trigger: Alertmanager's route and receiver (for an
 * Alertmanager trigger), where the others take the URL, and a curl command that fires it. With the
 * URL when it is known (at creation), else a placeholder for the URL stored then.
 */
export function TriggerSetup({ trigger, url, open = false }: { trigger: Pick<AlertTrigger, 'flag' | 'environment' | 'name' | 'source' | 'restore_on_resolved'>; url?: string; open?: boolean }) {
  const target = url ?? unknownTriggerUrl(window.location.origin);
  return (
    <details className="trigger-setup" data-trigger-setup={trigger.name} open={open}>
      <summary>Connect {SOURCE_NAMES[trigger.source]} to “{trigger.name}”</summary>
      {trigger.source === 'alertmanager'
        ? <CopyBlock label="Alertmanager config" text={alertmanagerSnippet(trigger, target)} testId="alertmanager-snippet" />
        : <p className="small">{WHERE[trigger.source]}</p>}
      <CopyBlock label="curl command" text={curlExample(trigger.source, target)} testId="curl-example" />
      {!url && <p className="small muted">The URL is a secret shown once, when the trigger was created: put the one you stored in its place.</p>}
    </details>
  );
}

/** What a real alert would do to the flag now, for the test's confirmation. */
function wouldDo(t: AlertTrigger): string {
  const kill = `it pulls the kill switch of ${t.flag} in ${t.environment}: every ${t.environment} user gets the off value until someone restores it`;
  if (t.min_alerts > 1) return `it counts as 1 of the ${t.min_alerts} alerts needed within ${t.window_seconds} s (when that many fire, ${kill})`;
  if (t.only_during_rollout) return `if a rollout of ${t.flag} runs in ${t.environment}, ${kill}; otherwise nothing`;
  return kill;
}

/** "Send test alert": a firing alert in the trigger's format through the hook's own path, confirmed first; the outcome stays on screen. */
export function useTestAlert(onDone: () => void) {
  const { api } = useSession();
  const confirm = useConfirm();
  const [result, setResult] = useState<{ trigger: AlertTrigger; decision: TriggerDecisionView } | null>(null);
  const send = useAction(async (trigger: AlertTrigger) => {
    const ok = await confirm({
      title: `Send a test alert to “${trigger.name}”?`,
      effect: <p>A firing alert named <code>{TEST_ALERT_NAME}</code> reaches the trigger as {SOURCE_NAMES[trigger.source]} would send it, and the trigger does what it does with a real alert: {wouldDo(trigger)}.</p>,
      confirmLabel: 'Send test alert',
    });
    if (!ok) return;
    setResult(null);
    const decision = await api.request<TriggerDecisionView>('POST', `/api/v1/triggers/${enc(trigger.id)}/test`);
    setResult({ trigger, decision });
    onDone();
  });
  return { send, result, dismiss: () => setResult(null) };
}

export function TestAlertButton({ trigger, allowed, run, busy }: { trigger: AlertTrigger; allowed: Decision; run: (t: AlertTrigger) => void; busy: boolean }) {
  const disabled = busy || !trigger.enabled;
  return (
    <WriteButton allowed={allowed} type="button" className="link" disabled={disabled} title={trigger.enabled ? undefined : 'enable the trigger to test it'} onClick={() => run(trigger)}>
      Send test alert to {trigger.name}
    </WriteButton>
  );
}

export function TestAlertResult({ state }: { state: ReturnType<typeof useTestAlert> }) {
  const { result, send, dismiss } = state;
  if (send.error) return <ErrorBox error={send.error} />;
  if (!result) return null;
  const { trigger, decision } = result;
  const failed = decision.action === 'none';
  return (
    <div className={failed ? 'note' : 'warning'} role="status" data-testid="test-alert-result" data-action={decision.action}>
      <p>{testResultSentence(decision, trigger.flag, trigger.environment)}</p>
      {decision.workflow && <WorkflowLink workflow={decision.workflow} />}
      <button type="button" className="link" onClick={dismiss}>Dismiss</button>
    </div>
  );
}
