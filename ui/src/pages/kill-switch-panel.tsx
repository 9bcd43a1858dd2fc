import { useId, useState } from 'react';
import { enc, type Json } from '../api.ts';
import { ErrorBox, time, useAction, WorkflowLink, WriteButton } from '../components.tsx';
import { useSession } from '../session.tsx';

/** The red button: a reason and the flag key typed to confirm; restore; both show the Temporal workflow. */
export function KillSwitchPanel({ flag, env, config, onChanged }: { flag: Json; env: string; config: Json; onChanged: () => void }) {
  const { api, can } = useSession();
  const allowed = can({ resource: 'flag', action: 'kill_switch', environment: env, tags: flag.tags });
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [typed, setTyped] = useState('');
  const [workflow, setWorkflow] = useState<Json>(null);
  const id = useId();
  const killed = Boolean(config.kill_switch?.enabled);
  const path = `/api/v1/flags/${enc(flag.key)}/environments/${enc(env)}/kill-switch`;

  const kill = useAction(async () => {
    const answer = await api.request('POST', path, { body: { reason: reason.trim() }, headers: { 'idempotency-key': `ui-${crypto.randomUUID()}` } });
    setWorkflow(answer.workflow);
    setOpen(false);
    setReason('');
    setTyped('');
    onChanged();
  });
  const restore = useAction(async () => {
    const answer = await api.request('DELETE', path, { body: reason.trim() ? { reason: reason.trim() } : undefined });
    setWorkflow(answer.workflow);
    setReason('');
    onChanged();
  });

  return (
    <section className={`card kill ${killed ? 'is-killed' : ''}`} aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Kill switch in {env}</h3>
      {killed ? (
        <>
          <p className="killed-banner" role="status" data-testid="killed-banner">
            <strong>KILLED</strong> — serving the off value since {time(config.kill_switch.triggered_at)} by {config.kill_switch.triggered_by ?? 'unknown'}: “{config.kill_switch.reason}”
          </p>
          <div className="field">
            <label htmlFor={`${id}-rr`}>Reason for restoring (optional)</label>
            <input id={`${id}-rr`} value={reason} onChange={(e) => setReason(e.target.value)} disabled={!allowed.allowed} />
          </div>
          <WriteButton allowed={allowed} onClick={() => void restore.run()} disabled={restore.busy}>{restore.busy ? 'Restoring…' : `Restore ${flag.key} in ${env}`}</WriteButton>
        </>
      ) : open ? (
        <form className="kill-form" aria-label={`Pull the kill switch of ${flag.key} in ${env}`} onSubmit={(e) => { e.preventDefault(); void kill.run(); }}>
          <p>Every user in <strong>{env}</strong> gets the off value at once, a running rollout pauses, and the on-call channel is alerted.</p>
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
        <WriteButton allowed={allowed} className="danger" onClick={() => { setOpen(true); setWorkflow(null); }}>Pull kill switch in {env}</WriteButton>
      )}
      <ErrorBox error={kill.error ?? restore.error} />
      {workflow && <WorkflowLink workflow={workflow} />}
    </section>
  );
}
