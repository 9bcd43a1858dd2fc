import { useId, useState } from 'react';
import type { EnvironmentConfig, Flag, KillOutcome, KillSwitchState } from '../../../src/protocol/admin-api.ts';
import type { ChangeRequestCreated } from '../../../src/change-requests/change-request-schemas.ts';
import { ApiError, enc } from '../api.ts';
import { announceChangeRequests, gatesRestore, isChangeRequestCreated, usePolicy } from '../change-requests.ts';
import { bypassHeaders, ChangeRequestNotice, PolicyGate } from './change-request-notice.tsx';
import { ErrorBox, time, useAction, WorkflowLink, WriteButton } from '../components.tsx';
import { useConfirm } from '../confirm.tsx';
import { useInterval, useLoad } from '../hooks.ts';
import { useSession } from '../session.tsx';
import { RestoreEffect, RestorePreview } from './restore-effect.tsx';

/**
 * The red button: a reason and the flag key typed to confirm; restore (confirmed in a dialog in
 * production); the last kill's workflow and how many API replicas acknowledge it, live.
 */
export function KillSwitchPanel({ flag, env, config, onChanged, liveTick = 0 }: { flag: Flag; env: string; config: EnvironmentConfig; onChanged: () => void; liveTick?: number }) {
  const { api, can } = useSession();
  const confirm = useConfirm();
  const allowed = can({ resource: 'flag', action: 'kill_switch', environment: env, tags: flag.tags });
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [typed, setTyped] = useState('');
  const [workflow, setWorkflow] = useState<KillOutcome['workflow'] | null>(null);
  const id = useId();
  // Releasing (never killing) may need approval in this environment; admins and responders may bypass with a reason.
  const policy = usePolicy(api, env);
  const gated = gatesRestore(policy);
  const [bypass, setBypass] = useState(false);
  const [requested, setRequested] = useState<ChangeRequestCreated | null>(null);
  const killed = Boolean(config.kill_switch?.enabled);
  const path = `/api/v1/flags/${enc(flag.key)}/environments/${enc(env)}/kill-switch`;
  // The state with its confirmation: read again on every change of this flag (the stream says so).
  const state = useLoad((signal) => api.get<KillSwitchState>(path, signal), [path, liveTick, config.version]);
  const confirmation = state.data?.confirmation;
  // Acknowledgements arrive within moments of a change: poll only while some are still due (≤ 5 s).
  useInterval(() => void state.reload(), confirmation?.status === 'pending' ? 500 : null);

  const kill = useAction(async () => {
    const answer = await api.request<KillOutcome>('POST', path, { body: { reason: reason.trim() }, headers: { 'idempotency-key': `ui-${crypto.randomUUID()}` } });
    setWorkflow(answer.workflow);
    setOpen(false);
    setReason('');
    setTyped('');
    onChanged();
  });
  const restore = useAction(async () => {
    const headers = bypassHeaders(gated && bypass, reason);
    // Only a release that applies now asks first; one that becomes a change request changes nothing yet.
    if (env === 'production' && !(gated && !bypass) && !(await confirm({
      title: `Restore ${flag.key} in production?`,
      effect: <RestoreEffect flagKey={flag.key} env={env} config={config} />,
      confirmLabel: `Restore ${flag.key} in production`,
    }))) return;
    const answer = await api.request<KillOutcome | ChangeRequestCreated>('DELETE', path, {
      body: reason.trim() ? { reason: reason.trim() } : undefined, headers,
    });
    if (isChangeRequestCreated(answer)) {
      setRequested(answer);
      setReason('');
      announceChangeRequests();
      return;
    }
    setRequested(null);
    setWorkflow(answer.workflow);
    setReason('');
    onChanged();
  });
  const latest = state.data?.latest;

  return (
    <section className={`card kill ${killed ? 'is-killed' : ''}`} aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Kill switch in {env}</h3>
      {killed ? (
        <>
          <p className="killed-banner" role="status" data-testid="killed-banner">
            <strong>KILLED</strong> — serving the off value since {time(config.kill_switch.triggered_at)} by {config.kill_switch.triggered_by ?? 'unknown'}: “{config.kill_switch.reason}”
          </p>
          <div className="field">
            <label htmlFor={`${id}-rr`}>Reason for restoring ({gated && bypass ? 'required to bypass' : 'optional'})</label>
            <input id={`${id}-rr`} value={reason} onChange={(e) => setReason(e.target.value)} disabled={!allowed.allowed} aria-invalid={restore.error instanceof ApiError && restore.error.status === 0 ? true : undefined} />
          </div>
          <RestorePreview env={env} config={config} />
          {allowed.allowed && <PolicyGate policy={policy} gated={gated} env={env} doing="Releasing the kill switch" bypass={bypass} onBypass={setBypass} testId="restore-creates-request" />}
          <WriteButton allowed={allowed} onClick={() => void restore.run()} disabled={restore.busy}>{restore.busy ? 'Restoring…' : `Restore ${flag.key} in ${env}`}</WriteButton>
        </>
      ) : open ? (
        <form className="kill-form" aria-label={`Pull the kill switch of ${flag.key} in ${env}`} onSubmit={(e) => { e.preventDefault(); void kill.run(); }}
          onKeyDown={(e) => { if (e.key === 'Escape') { e.preventDefault(); setOpen(false); setTimeout(() => document.getElementById(`${id}-pull`)?.focus(), 0); } }}>
          <p>Every user in <strong>{env}</strong> gets the off value at once, a running rollout pauses, and the on-call channel is alerted. Escape cancels.</p>
          <div className="field">
            <label htmlFor={`${id}-reason`}>Reason (required, goes to the audit log and the alert)</label>
            <input id={`${id}-reason`} required value={reason} onChange={(e) => setReason(e.target.value)} autoFocus />
          </div>
          <div className="field">
            <label htmlFor={`${id}-confirm`}>Type <code>{flag.key}</code> to confirm</label>
            <input id={`${id}-confirm`} required value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} />
          </div>
          <div className="actions">
            <button type="submit" className="danger" disabled={kill.busy || !reason.trim() || typed !== flag.key}>{kill.busy ? 'Killing…' : `Kill ${flag.key} in ${env}`}</button>
            <button type="button" onClick={() => setOpen(false)}>Cancel</button>
          </div>
        </form>
      ) : (
        <WriteButton allowed={allowed} id={`${id}-pull`} className="danger" onClick={() => { setOpen(true); setWorkflow(null); }}>Pull kill switch in {env}</WriteButton>
      )}
      <ErrorBox error={kill.error ?? restore.error} />
      {requested && <ChangeRequestNotice created={requested} />}
      {workflow && workflow.status === 'none' && <WorkflowLink workflow={{ ...workflow, status: 'already killed: the kill in force' }} />}
      {latest && (
        <div className="kill-last" data-testid="kill-confirmation" data-status={confirmation?.status ?? 'unknown'}>
          <p className="small">
            Last {latest.action === 'activated' ? 'kill' : 'restore'} {time(latest.at)}{latest.actor ? ` by ${latest.actor}` : ''}{latest.reason ? ` — “${latest.reason}”` : ''}
            {latest.workflow_id && <> · workflow <code data-testid="workflow-id">{latest.workflow_id}</code>{latest.workflow_url && <> — <a href={latest.workflow_url} target="_blank" rel="noreferrer">open in Temporal UI</a></>}</>}
          </p>
          <p role="status" className={confirmation?.status === 'unconfirmed' ? 'error' : 'ok'}>
            {!confirmation ? 'Replica confirmation unavailable (Redis unreachable).' : confirmationText(confirmation)}
          </p>
        </div>
      )}
    </section>
  );
}

type Confirmation = NonNullable<KillSwitchState['confirmation']>;

/**
 * "Confirmed on 3/3 replicas and 412/412 SDK instances in 84 ms.", or who is behind: replicas that
 * have not acknowledged, SDK instances below the version (flagd streams count as delivered).
 */
export function confirmationText(c: Confirmation): string {
  const sdk = c.sdk_instances.total > 0 ? c.sdk_instances : null;
  const held = sdk ? sdk.confirmed + sdk.delivered : 0;
  const flagd = sdk && sdk.delivered > 0 ? ` (${sdk.delivered} flagd ${sdk.delivered === 1 ? 'stream' : 'streams'} delivered, not confirmed)` : '';
  const sdkPart = sdk ? ` and ${held}/${sdk.total} SDK instances${flagd}` : '';
  if (c.status === 'confirmed') {
    const elapsed = [c.elapsed_ms, sdk?.elapsed_ms ?? null].filter((ms): ms is number => ms !== null);
    return `Confirmed on ${c.confirmed_replicas}/${c.total_replicas} replicas${sdkPart}${elapsed.length ? ` in ${Math.round(Math.max(...elapsed))} ms` : ''}.`;
  }
  if (c.status === 'pending') return `Confirming… ${c.confirmed_replicas}/${c.total_replicas} replicas${sdk ? ` and ${held}/${sdk.total} SDK instances` : ''} so far.`;
  const parts: string[] = [];
  if (c.laggards.length > 0) parts.push(`NOT confirmed on ${c.laggards.length} of ${c.total_replicas} replicas: ${c.laggards.join(', ')}.`);
  else parts.push(`Confirmed on ${c.confirmed_replicas}/${c.total_replicas} replicas.`);
  if (sdk && held < sdk.total) {
    const named = sdk.laggards.map((l) => `${l.app ? `${l.app}${l.host ? `@${l.host}` : ''}` : `${l.kind} ${l.id.slice(0, 8)}`} (v${l.version})`).join(', ');
    const more = sdk.total - held - sdk.laggards.length;
    parts.push(`${sdk.total - held} of ${sdk.total} SDK instances behind: ${named}${more > 0 ? ` and ${more} more` : ''}.`);
  }
  return parts.join(' ');
}
