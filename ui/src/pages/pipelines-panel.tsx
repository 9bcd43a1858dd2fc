import { useId, useState } from 'react';
import type { Pipeline, PipelineStarted, ReleaseTemplate } from '../../../src/protocol/admin-api.ts';
import { enc } from '../api.ts';
import { ErrorBox, time, timeLeft, useAction, WriteButton } from '../components.tsx';
import type { Decision } from '../../../src/auth/rbac.ts';
import { useInterval, useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { ActorName } from '../names.tsx';
import { GuardDetail } from './guard-detail.tsx';

const FINISHED = new Set(['completed', 'stopped', 'aborted', 'failed']);

type PipelinePhase = Pipeline['phases'][number];
/** The approvals that count for one of a phase's gates (approvals without `counts` predate policy gates: the role gate's). */
const approvalsFor = (phase: PipelinePhase, gate: 'role' | 'policy') => phase.approvals.filter((a) => (a.counts ?? ['role']).includes(gate));

/**
 * The flag's release pipelines: a form to apply a template, and the latest pipeline's timeline (each
 * phase with its status, audience, times, child rollout in Temporal, approvals and breach), with its controls.
 */
export function PipelinesPanel({ flagKey }: { flagKey: string }) {
  const { api, can, me } = useSession();
  const id = useId();
  const base = `/api/v1/flags/${enc(flagKey)}/pipelines`;
  const templates = useLoad((signal) => api.get<{ templates: ReleaseTemplate[] }>('/api/v1/release-templates', signal), []);
  const pipelines = useLoad((signal) => api.get<{ pipelines: Pipeline[] }>(base, signal), [flagKey]);
  const [template, setTemplate] = useState('');
  const latest = pipelines.data?.pipelines[0];
  const running = latest !== undefined && !FINISHED.has(latest.status);
  // Follows a running pipeline; a finished one does not change.
  useInterval(() => void pipelines.reload(), running ? 2_000 : null);

  const apply = useAction(async () => {
    const chosen = template || templates.data?.templates[0]?.name;
    if (!chosen) return;
    await api.request<PipelineStarted>('POST', base, { body: { template: chosen } });
    await pipelines.reload();
  });
  // Steering needs flag:write in every environment of the pipeline; its approval is never its starter's (the API says the same).
  const steerable = steeringRight(latest, (environment) => can({ resource: 'flag', action: 'write', environment }));
  const approvable: Decision = steerable.allowed && latest?.started_by === me.id
    ? { allowed: false, reason: 'you started this pipeline: its approval must come from someone else, never whoever started the pipeline' } : steerable;
  const steer = useAction(async (action: 'approve' | 'pause' | 'resume' | 'abort') => {
    await api.request<Pipeline>('POST', `${base}/current/${action}`, { body: action === 'abort' ? { rollback: false } : {} });
    await pipelines.reload();
  });

  return (
    <section className="card pipelines" aria-labelledby={`${id}-h`} data-testid="pipelines">
      <h3 id={`${id}-h`}>Release pipelines</h3>
      <ErrorBox error={templates.error ?? pipelines.error} />
      <form className="row" onSubmit={(e) => { e.preventDefault(); void apply.run(); }}>
        <label>
          Template{' '}
          <select aria-label="Release template" disabled={!templates.data?.templates.length} value={template} onChange={(e) => setTemplate(e.target.value)}>
            {(templates.data?.templates ?? []).map((t) => (
              <option key={t.name} value={t.name}>{t.name} ({t.phases.map((p) => (p.audience ? `${p.environment}: ${p.audience.segments.join(', ')}` : p.environment)).join(' → ')})</option>
            ))}
          </select>
        </label>{' '}
        <button type="submit" disabled={apply.busy || running || !templates.data?.templates.length}>Apply template</button>
        {' '}<Link to="/release-templates">{templates.data?.templates.length ? 'Manage templates' : 'Create a template'}</Link>
      </form>
      {templates.data?.templates.length === 0 && (
        <p className="note" data-testid="no-templates">No release templates yet: a template lists the phases a release goes through (environments, approvals, rollouts, soaks). <Link to="/release-templates/new">Create one</Link>, then apply it here.</p>
      )}
      <ErrorBox error={apply.error ?? steer.error} />
      {pipelines.data && !latest && <p className="muted" data-testid="no-pipelines">No release pipeline has run for this flag.</p>}
      {latest && (
        <div data-testid="pipeline" data-status={latest.status}>
          <p>
            <strong>{latest.template}</strong> — <span data-testid="pipeline-status">{latest.status.replace('_', ' ')}</span>
            {' '}<a href={latest.url} target="_blank" rel="noreferrer">open in Temporal UI</a>
            <span className="muted small"> started {time(latest.created_at)} by <ActorName id={latest.started_by} />{latest.finished_at ? `, ended ${time(latest.finished_at)}` : ''}</span>
          </p>
          {latest.reason && <p role="alert" data-testid="pipeline-reason">{latest.reason}</p>}
          {latest.paused_reason && <p className="muted">Paused: {latest.paused_reason}</p>}
          <ol className="timeline" aria-label="Pipeline phases">
            {latest.phases.map((phase, i) => (
              <li key={i} data-phase={i + 1} data-status={phase.status}>
                <strong>{phase.name}</strong> <span className="muted">({phase.environment})</span> — {phase.status.replace('_', ' ')}
                <div className="small muted">{phase.summary}</div>
                {phase.audience && (
                  <div className="small" data-testid="phase-audience">
                    Audience: {phase.audience.segments.join(', ')} → {phase.audience.variant ? <code>{phase.audience.variant}</code> : 'the on variant'}
                    {phase.audience_at ? <>, served since {time(phase.audience_at)}</> : ''}
                  </div>
                )}
                <div className="small">
                  {phase.started_at && <>started {time(phase.started_at)}</>}
                  {phase.finished_at && <>, finished {time(phase.finished_at)}</>}
                  {phase.soak_until && <> · soaking, {timeLeft(phase.soak_until)} left</>}
                  {phase.workflow_id && phase.url && <> · <a href={phase.url} target="_blank" rel="noreferrer"><code>{phase.workflow_id}</code></a></>}
                </div>
                {phase.approval && (
                  <div className="small">
                    Approval by {phase.approval.role === 'admin' ? 'an admin' : `an ${phase.approval.role.replace('_', ' ')} (or an admin)`}:{' '}
                    {approvalsFor(phase, 'role').map((a) => `${a.name} (${time(a.at)})`).join(', ') || 'not yet'}
                  </div>
                )}
                {phase.policy && (
                  <div className="small" data-testid="policy-gate">
                    Policy gate: needs {phase.policy.required_approvals} approval{phase.policy.required_approvals === 1 ? '' : 's'} under {phase.policy.environment}’s change policy
                    {' '}({approvalsFor(phase, 'policy').length} of {phase.policy.required_approvals}
                    {approvalsFor(phase, 'policy').length ? `: ${approvalsFor(phase, 'policy').map((a) => `${a.name} (${time(a.at)})`).join(', ')}` : ''})
                  </div>
                )}
                {phase.breach && <div className="small" role="alert">Guard breached: <GuardDetail reading={phase.breach} /></div>}
              </li>
            ))}
          </ol>
          {running && (
            <div className="row">
              {latest.status === 'waiting_approval' && <WriteButton allowed={approvable} type="button" disabled={steer.busy} onClick={() => void steer.run('approve')}>Approve phase</WriteButton>}
              {latest.paused_reason
                ? <WriteButton allowed={steerable} type="button" disabled={steer.busy} onClick={() => void steer.run('resume')}>Resume pipeline</WriteButton>
                : <WriteButton allowed={steerable} type="button" disabled={steer.busy} onClick={() => void steer.run('pause')}>Pause pipeline</WriteButton>}
              <WriteButton allowed={steerable} type="button" className="danger" disabled={steer.busy} onClick={() => void steer.run('abort')}>Abort pipeline</WriteButton>
            </div>
          )}
        </div>
      )}
    </section>
  );
}

/** Whether the caller may steer the pipeline: flag:write in each of its environments (the first refusal names the one missing). */
function steeringRight(pipeline: Pipeline | undefined, can: (environment: string) => Decision): Decision {
  for (const environment of new Set(pipeline?.phases.map((p) => p.environment) ?? [])) {
    const decision = can(environment);
    if (!decision.allowed) return decision;
  }
  return { allowed: true };
}
