import { useId, useState } from 'react';
import { ApiError, enc } from '../api.ts';
import type { Flag, RolloutList, RolloutProgressView, RolloutStarted } from '../../../src/protocol/admin-api.ts';
import type { ChangeRequestCreated } from '../../../src/change-requests/change-request-schemas.ts';
import { announceChangeRequests, covers, isChangeRequestCreated, usePolicy } from '../change-requests.ts';
import { bypassHeaders, ChangeRequestNotice, PolicyGate } from './change-request-notice.tsx';
import type { RolloutPlan } from '../../../src/domain/rollout-plan.ts';
import type { SplitEntry } from '../../../src/domain/variants.ts';
import { ErrorBox, Field, ProgressBar, StateBadge, time, timeLeft, useAction, WorkflowLink, WriteButton } from '../components.tsx';
import { RUNNING, stateOf } from '../flag-state.ts';
import { describeSplit, rolloutPlanSchema } from '../../../src/domain/rollout-plan.ts';
import { describeStep, isFinishedRollout } from '../../../src/domain/rollout-status.ts';
import { numberFrom, numberShown, refusal } from '../validation.ts';
import { useInterval, useLoad } from '../hooks.ts';
import { useConfirm } from '../confirm.tsx';
import { defaultSplitSteps, splitOf, splitOrder, SplitStepsEditor, type SplitStepDraft } from './split-steps-editor.tsx';
import { useSession } from '../session.tsx';
import { ActorName } from '../names.tsx';
import { guardOf, NO_GUARD, type GuardDraft } from '../guard-draft.ts';
import { GuardFields } from './guard-fields.tsx';
import { GuardDetail } from './guard-detail.tsx';

interface Step { percentage: number; hold: string; approval: boolean }
/** The steps of a plan, as far as the timeline and the final-hold warning read them (a stored plan or the form's draft). */
interface PlanSteps { strategy: string; steps?: Array<{ percentage?: number; split?: SplitEntry[]; hold?: string | number; approval?: boolean }> }
/** What the start form sends; the API's schema (rolloutPlanSchema) checks it before it goes. */
type PlanDraft = PlanSteps & { percentage?: number; start_date?: string; end_date?: string; approval_timeout?: string; guard?: Record<string, unknown> };
/** A workflow the panel started, for its link. */
interface Started { id: string; url: string; status: string }
type RolloutRecordView = RolloutList['rollouts'][number];

const DEFAULT_STEPS: Step[] = [
  { percentage: 1, hold: '1 hour', approval: false },
  { percentage: 5, hold: '4 hours', approval: false },
  { percentage: 25, hold: '1 day', approval: true },
  { percentage: 100, hold: '', approval: false },
];

/** Rollouts of a flag in one environment: the running one with its timeline and guard, steering, starting, the history. */
export function RolloutsPanel({ flag, env, onChanged, liveTick = 0 }: { flag: Flag; env: string; onChanged: () => void; liveTick?: number }) {
  const { api, can } = useSession();
  const confirm = useConfirm();
  const allowed = can({ resource: 'flag', action: 'write', environment: env, tags: flag.tags });
  const base = `/api/v1/flags/${enc(flag.key)}/environments/${enc(env)}/rollouts`;
  const list = useLoad((signal) => api.get<RolloutList>(base, signal), [base, liveTick]);
  const current = list.data?.current && RUNNING.has(list.data.current.status) ? list.data.current : null;
  const record = current ? list.data?.rollouts.find((r) => r.id === current.rollout_id) : undefined;
  const [workflow, setWorkflow] = useState<Started | null>(null);
  // The latest rollout, once over, shows its outcome until someone dismisses it (in this browser).
  const latest = list.data?.rollouts[0];
  const [dismissed, setDismissed] = useState(() => dismissedOutcomes());
  const outcome = !current && latest && isFinishedRollout(latest.status) && !dismissed.includes(latest.id) ? latest : null;
  const dismiss = (id: string) => setDismissed(dismissOutcome(id));
  // The read model gets its row when the workflow's first step runs, and its final status just after the
  // workflow ends: poll while one runs, was just started, or is ending.
  const ending = !current && latest !== undefined && !isFinishedRollout(latest.status);
  useInterval(() => void list.reload(), current ? 3000 : workflow || ending ? 1000 : null);
  const [rollback, setRollback] = useState(true);
  const [pauseReason, setPauseReason] = useState('');
  const id = useId();

  const steer = useAction(async (action: string, body: { reason?: string; rollback?: boolean } = {}) => {
    await api.request('POST', `${base}/current/${action}`, { body });
    await list.reload();
    onChanged();
  });

  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Rollouts in {env}</h3>
      <ErrorBox error={list.error} />
      {current ? (() => { const backTo = current.start_split ? describeSplit(current.start_split) : '0%'; return (
        <div className="rollout-current" data-testid="rollout-current" data-status={current.status}>
          <p>
            <strong className={`badge st-${current.status}`} data-testid="rollout-status">{current.status.replace('_', ' ')}</strong> {current.summary}
            {current.paused_reason && <> — paused: “{current.paused_reason}”</>}
          </p>
          <ProgressBar value={stepsApplied(current)} max={current.total_steps} label={`${describeStep(current.step, current.total_steps)}${current.status === 'paused' ? ', paused' : ''}: ${stepsApplied(current)} of ${current.total_steps} steps applied`} />
          {current.split && <p data-testid="rollout-split">Serving <strong>{describeSplit(current.split)}</strong>
            {current.start_split && <> — {current.percentage ?? 0}% of traffic moved from the starting split ({describeSplit(current.start_split)})</>}.</p>}
          <p className="small">Now at <strong>{current.percentage ?? 0}%</strong>; next change {current.status === 'paused' ? 'when resumed' : current.status === 'waiting_approval' ? 'after approval' : current.next_change_at ? time(current.next_change_at) : '–'}.
            {record?.workflow_id && <> Workflow <code>{record.workflow_id}</code>{record.url && <> — <a href={record.url} target="_blank" rel="noreferrer">open in Temporal UI</a></>}.</>}</p>
          {current.status === 'waiting_approval' && current.approval_deadline && <ApprovalDeadline at={current.approval_deadline} />}
          <FinalHoldWarning plan={record?.plan} endsAt={current.step === current.total_steps - 1 && current.history.some((h) => h.label === `step:${current.step}`) ? current.next_change_at : null} />
          <Timeline current={current} plan={record?.plan} />
          {current.guard && <GuardChart readings={current.guard.readings} breach={current.guard.breach} guard={record?.plan?.guard} />}
          <div className="actions wrap">
            {current.status !== 'paused' && <>
              <label className="sr-only" htmlFor={`${id}-pr`}>Pause reason</label>
              <input id={`${id}-pr`} placeholder="pause reason (optional)" value={pauseReason} onChange={(e) => setPauseReason(e.target.value)} disabled={!allowed.allowed} />
              <WriteButton allowed={allowed} onClick={() => void steer.run('pause', pauseReason.trim() ? { reason: pauseReason.trim() } : {})}>Pause</WriteButton>
            </>}
            {current.status === 'paused' && <WriteButton allowed={allowed} onClick={() => void steer.run('resume')}>Resume</WriteButton>}
            {current.status === 'waiting_approval' && <WriteButton allowed={allowed} className="primary" onClick={() => void steer.run('approve')}>Approve next step</WriteButton>}
            <WriteButton allowed={allowed} onClick={() => void steer.run('skip')}>Skip wait</WriteButton>
            <label className="inline"><input type="checkbox" checked={rollback} onChange={(e) => setRollback(e.target.checked)} disabled={!allowed.allowed} /> roll back to {backTo} on abort</label>
            <WriteButton allowed={allowed} className="danger-outline" onClick={() => void (async () => {
              if (rollback && !(await confirm({
                title: `Abort the rollout of ${flag.key} in ${env} and roll back?`,
                effect: <p>The rollout stops and <strong>{flag.key}</strong> goes back to <strong>{backTo}</strong> in <strong>{env}</strong> at once: every user now at {current.percentage ?? 0}% loses the new behaviour. This cannot be resumed; a new rollout starts from the beginning.</p>,
                confirmLabel: `Abort and roll back to ${backTo}`,
              }))) return;
              await steer.run('abort', { rollback });
            })()}>Abort</WriteButton>
          </div>
          <ErrorBox error={steer.error} />
        </div>
      ); })() : outcome ? (
        <RolloutOutcome record={outcome} flag={flag} env={env} onDismiss={() => dismiss(outcome.id)} />
      ) : (
        <StartRollout flag={flag} env={env} allowed={allowed} onStarted={(w) => { setWorkflow(w); void list.reload(); onChanged(); }} />
      )}
      {workflow && <WorkflowLink workflow={workflow} />}
      {list.data && list.data.rollouts.length > 0 && (
        <details>
          <summary>History ({list.data.rollouts.length})</summary>
          <div className="table-wrap"><table>
            <thead><tr><th scope="col">Started</th><th scope="col">By</th><th scope="col">Strategy</th><th scope="col">Status</th><th scope="col">Finished</th></tr></thead>
            <tbody>{list.data.rollouts.map((r) => (
              <tr key={r.id}><td>{time(r.created_at)}</td><td>{r.created_by}</td><td>{r.plan.strategy}</td><td>{r.status}</td><td>{time(r.finished_at)}</td></tr>
            ))}</tbody>
          </table></div>
        </details>
      )}
    </section>
  );
}

/** How many of the plan's steps have applied (the bar's fill): a paused rollout keeps what it reached. */
export function stepsApplied(progress: Pick<RolloutProgressView, 'history' | 'total_steps'>): number {
  const applied = new Set(progress.history.filter((h) => /^step:\d+$/.test(h.label)).map((h) => h.label));
  return Math.min(applied.size, progress.total_steps);
}

const DISMISSED_KEY = 'ripcord.dismissedRolloutOutcomes';
function dismissedOutcomes(): string[] {
  try {
    const saved: unknown = JSON.parse(localStorage.getItem(DISMISSED_KEY) ?? '[]');
    return Array.isArray(saved) ? saved.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
/** Remembers a dismissed outcome (the last 50). */
function dismissOutcome(id: string): string[] {
  const next = [...dismissedOutcomes().filter((x) => x !== id), id].slice(-50);
  localStorage.setItem(DISMISSED_KEY, JSON.stringify(next));
  return next;
}

const OUTCOME_WORDS: Record<string, string> = {
  completed: 'Completed', aborted: 'Aborted', rolled_back: 'Rolled back', failed: 'Failed',
};

/** How the latest rollout ended: where it got to, when, why, and what the flag serves now; kept until dismissed. */
function RolloutOutcome({ record, flag, env, onDismiss }: { record: RolloutRecordView; flag: Flag; env: string; onDismiss: () => void }) {
  const progress = (record.progress ?? null) as Partial<RolloutProgressView> | null;
  const state = stateOf(flag.environments[env]);
  // The furthest step it applied (a rollback's own entry, back to the start, is not one).
  const furthest = progress?.history?.filter((h) => /^step:\d+$/.test(h.label)).at(-1);
  const reached = furthest ? (furthest.split ? describeSplit(furthest.split) : furthest.percentage === 'off' ? 'off' : `${furthest.percentage}%`) : null;
  const applied = record.status === 'completed' ? progress?.total_steps : progress?.history ? stepsApplied(progress as RolloutProgressView) : undefined;
  const steps = progress?.total_steps && applied !== undefined ? `${applied} of ${progress.total_steps} step${progress.total_steps === 1 ? '' : 's'} applied` : null;
  return (
    <div className={`rollout-outcome outcome-${record.status}`} data-testid="rollout-outcome" data-status={record.status} role="status">
      <p>
        <strong className={`badge st-${record.status}`}>{OUTCOME_WORDS[record.status] ?? record.status}</strong>{' '}
        {record.plan.strategy} rollout started {time(record.created_at)} by <ActorName id={record.created_by} />{record.finished_at ? `, ended ${time(record.finished_at)}` : ''}.
      </p>
      <p data-testid="outcome-summary">
        {steps ? `${steps}` : ''}{steps && reached ? '; ' : ''}{reached ? `it had reached ${reached}` : ''}{steps || reached ? '. ' : ''}
        Now in {env}: {state.state === 'on' && flag.environments[env]?.split?.length ? <strong>{describeSplit(flag.environments[env]!.split!)}</strong> : <StateBadge {...state} />}.
      </p>
      {progress?.guard?.breach && <p className="warning" role="note">Guard breached: <GuardDetail reading={progress.guard.breach} /></p>}
      {progress?.paused_reason && <p className="muted">Last pause: “{progress.paused_reason}”</p>}
      <div className="actions">
        <button type="button" onClick={onDismiss}>Dismiss and start another</button>
        <a href={record.url} target="_blank" rel="noreferrer">Workflow in Temporal UI</a>
      </div>
    </div>
  );
}

/** One numbering for people: the workflow's `step:0` is "step 1 of 3". */
function stepLabel(label: string, total: number): string {
  const step = /^step:(\d+)$/.exec(label);
  return step ? describeStep(Number(step[1]), total) : label;
}

/** The hold on the last step of a gradual plan: the rollout stays running until it ends. */
function finalHold(plan: PlanSteps | undefined): { hold: string; target: string } | null {
  const last = plan?.strategy === 'gradual' || plan?.strategy === 'split' ? plan.steps?.at(-1) : undefined;
  return last?.hold ? { hold: String(last.hold), target: stepTarget(last) } : null;
}

/** What a plan step sets, for people: "20%" or "control 80 / compact 20". */
function stepTarget(step: { percentage?: number; split?: SplitEntry[] }): string {
  return step.split ? describeSplit(step.split) : `${step.percentage ?? 0}%`;
}

/** When an approval gate times out (the rollout then pauses): time left and the absolute time; re-rendered every 15 s. */
function ApprovalDeadline({ at }: { at: string }) {
  const [now, setNow] = useState(() => Date.now());
  useInterval(() => setNow(Date.now()), 15_000);
  return (
    <p className="note" data-testid="approval-deadline">
      Approval needed within <strong data-testid="approval-time-left">{timeLeft(at, now)}</strong>, by <time dateTime={at}>{time(at)}</time>;
      without it the rollout pauses then (approve or resume to go on).
    </p>
  );
}

/** A warning that a hold on the last step keeps the rollout running (and its flag's rollout locked) until the hold ends. */
function FinalHoldWarning({ plan, endsAt }: { plan: PlanSteps | undefined; endsAt?: string | null }) {
  const hold = finalHold(plan);
  if (!hold) return null;
  return (
    <p className="warning" role="note" data-testid="final-hold-warning">
      The last step ({hold.target}) holds for {hold.hold}: the rollout stays “running” until that hold ends
      {endsAt ? <> (at <time dateTime={endsAt}>{time(endsAt)}</time>)</> : ''}, and no other rollout of this flag can start until then.
      Leave the hold off the last step to finish as soon as it is reached.
    </p>
  );
}

/** Every step of the plan, numbered as people read them: done (with when), the current one, and those to come. */
function Timeline({ current, plan }: { current: RolloutProgressView; plan: PlanSteps | undefined }) {
  const planned = (plan?.strategy === 'gradual' || plan?.strategy === 'split') && plan.steps ? plan.steps : [];
  const history = current.history;
  const applied = (i: number) => history.find((h) => h.label === `step:${i}`);
  const of = current.total_steps;
  // History entries that are not plan steps (linear and scheduled changes, a rollback) are listed as they happened.
  const others = planned.length ? history.filter((h) => !/^step:\d+$/.test(h.label)) : history;
  return (
    <ol className="timeline" aria-label="Rollout timeline">
      {planned.map((s, i) => {
        const done = applied(i);
        const isCurrent = i === current.step && !isFinishedRollout(current.status);
        const detail = `${stepTarget(s)}${s.hold ? `, hold ${s.hold}` : ''}${s.approval ? ', needs approval' : ''}`;
        return (
          <li key={`s${i}`} className={done ? (isCurrent ? 'done current' : 'done') : isCurrent ? 'next' : 'pending'} data-step={i + 1} data-state={done ? 'done' : isCurrent ? 'current' : 'pending'}>
            <span aria-hidden="true">{done ? '●' : '○'}</span> {describeStep(i, of)}: {detail}
            {done ? ` — applied ${time(done.at)}` : ''}
            {isCurrent && done && current.status === 'paused' ? ' — paused' : ''}
            {isCurrent && done && current.status !== 'paused' && current.next_change_at ? `; holding until ${time(current.next_change_at)}` : ''}
            {isCurrent && !done && current.status === 'waiting_approval' ? ' — waiting for approval' : ''}
            {isCurrent && !done && current.status === 'paused' ? ' — paused before it applies' : ''}
            {isCurrent && !done && current.status === 'running' && current.next_change_at ? ` — due ${time(current.next_change_at)}` : ''}
          </li>
        );
      })}
      {others.map((h, i) => <li key={`h${i}`} className="done"><span aria-hidden="true">●</span> {stepLabel(h.label, of)}: {h.split ? describeSplit(h.split) : h.percentage === 'off' ? 'off' : `${h.percentage}%`} at {time(h.at)}</li>)}
    </ol>
  );
}

/** Guard readings over time against the threshold; breaches marked. */
type GuardProgress = NonNullable<RolloutProgressView['guard']>;

function GuardChart({ readings, breach, guard }: { readings: GuardProgress['readings']; breach: GuardProgress['breach']; guard: RolloutPlan['guard'] }) {
  const points = readings.map((r) => ({ t: Date.parse(r.at), v: r.value ?? r.treated_error_rate ?? 0, breached: r.breached, detail: r.detail }));
  const threshold = guard?.source === 'prometheus' ? guard.threshold : guard?.max_error_rate;
  const W = 320, H = 90;
  const last = readings.at(-1);
  if (points.length === 0) return <p className="small muted">Guard: no readings yet.</p>;
  const vmax = Math.max(...points.map((p) => p.v), threshold ?? 0, 1e-9) * 1.1;
  const t0 = points[0]!.t, t1 = Math.max(points.at(-1)!.t, t0 + 1);
  const x = (t: number) => 4 + ((t - t0) / (t1 - t0)) * (W - 8);
  const y = (v: number) => H - 4 - (v / vmax) * (H - 8);
  return (
    <figure className="guard">
      <svg width={W} height={H} role="img" aria-label={`Guard readings: ${points.length}, latest ${last?.detail ?? ''}`}>
        <rect x="0" y="0" width={W} height={H} fill="#f7f8fa" />
        {threshold !== undefined && <line x1="0" x2={W} y1={y(threshold)} y2={y(threshold)} stroke="#b42318" strokeDasharray="4 3" />}
        <polyline fill="none" stroke="#1d4ed8" strokeWidth="1.5" points={points.map((p) => `${x(p.t)},${y(p.v)}`).join(' ')} />
        {points.map((p, i) => <circle key={i} cx={x(p.t)} cy={y(p.v)} r={p.breached ? 4 : 2.5} fill={p.breached ? '#b42318' : '#1d4ed8'} />)}
      </svg>
      <figcaption className="small">Guard ({guard?.source}): latest — {last && <GuardDetail reading={last} />}{breach ? ` · BREACH at ${time(breach.at)}` : ''}{threshold !== undefined ? ` · threshold ${threshold} (dashed)` : ''}</figcaption>
    </figure>
  );
}

function StartRollout({ flag, env, allowed, onStarted }: { flag: Flag; env: string; allowed: ReturnType<ReturnType<typeof useSession>['can']>; onStarted: (w: Started) => void }) {
  const { api } = useSession();
  const [strategy, setStrategy] = useState<'gradual' | 'immediate' | 'scheduled' | 'split'>('gradual');
  const config = flag.environments[env];
  const order = splitOrder(config?.variants?.map((v) => v.name) ?? [], config?.off_variant ?? '');
  const [splitSteps, setSplitSteps] = useState<SplitStepDraft[]>(() => defaultSplitSteps(order, config?.split));
  const [percentage, setPercentage] = useState(100);
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const [steps, setSteps] = useState<Step[]>(DEFAULT_STEPS);
  const [guard, setGuard] = useState<GuardDraft>(NO_GUARD);
  const [approvalTimeout, setApprovalTimeout] = useState('24 hours');
  const id = useId();

  const plan = (): PlanDraft => {
    const guarded = guardOf(guard);
    const common: Pick<PlanDraft, 'approval_timeout' | 'guard'> = { approval_timeout: approvalTimeout || undefined, ...(guarded ? { guard: guarded } : {}) };
    if (strategy === 'immediate') return { strategy, percentage, ...common };
    if (strategy === 'scheduled') return { strategy, percentage, start_date: start, ...(end ? { end_date: end } : {}), ...common };
    if (strategy === 'split') {
      return { strategy, steps: splitSteps.map((s) => ({ split: splitOf(s, order), ...(s.hold ? { hold: s.hold } : {}), ...(s.approval ? { approval: true } : {}) })), ...common };
    }
    return { strategy, steps: steps.map((s) => ({ percentage: s.percentage, ...(s.hold ? { hold: s.hold } : {}), ...(s.approval ? { approval: true } : {}) })), ...common };
  };
  // Starting a rollout may be covered by the environment's change policy: it then waits as a change request.
  const policy = usePolicy(api, env);
  const gated = covers(policy, 'rollouts');
  const [bypass, setBypass] = useState(false);
  const [reason, setReason] = useState('');
  const [requested, setRequested] = useState<ChangeRequestCreated | null>(null);
  const run = useAction(async () => {
    setRequested(null);
    // The plan's own schema (the API's): a step of 150% is refused at its field before anything is sent.
    const refused = refusal(rolloutPlanSchema, plan(), 'plan');
    if (refused) throw refused;
    const headers = bypassHeaders(gated && bypass, reason);
    const answer = await api.request<RolloutStarted | ChangeRequestCreated>('POST', `/api/v1/flags/${enc(flag.key)}/environments/${enc(env)}/rollouts`, {
      body: { plan: plan(), ...(reason.trim() ? { reason: reason.trim() } : {}) }, headers,
    });
    setReason('');
    if (isChangeRequestCreated(answer)) {
      setRequested(answer);
      announceChangeRequests();
      return;
    }
    onStarted({ id: answer.workflow_id, url: answer.url, status: answer.summary });
  });
  const e = run.error;
  const setStep = (i: number, patch: Partial<Step>) => setSteps(steps.map((s, j) => (j === i ? { ...s, ...patch } : s)));

  if (!allowed.allowed) return <p className="note">No rollout is running. Starting one is not allowed: {allowed.reason}.</p>;
  return (
    <form className="start-rollout" aria-label={`Start a rollout in ${env}`} noValidate onSubmit={(ev) => { ev.preventDefault(); void run.run(); }}>
      <p className="muted">No rollout is running. Start one (a durable Temporal workflow):</p>
      <div className="grid4">
        <Field label="Strategy" error={e} path="plan.strategy">{(p) => (
          <select {...p} value={strategy} onChange={(ev) => setStrategy(ev.target.value as typeof strategy)}>
            <option value="gradual">gradual — steps</option><option value="immediate">immediate</option><option value="scheduled">scheduled</option>
            <option value="split">split — weights per variant</option>
          </select>)}</Field>
        {(strategy === 'immediate' || strategy === 'scheduled') && <Field label="Percentage" error={e} path="plan.percentage">{(p) => <input {...p} type="number" min={0} max={100} step="0.001" value={numberShown(percentage)} onChange={(ev) => setPercentage(numberFrom(ev.target.value))} />}</Field>}
        {strategy === 'scheduled' && <>
          <Field label="Start (ISO 8601)" error={e} path="plan.start_date">{(p) => <input {...p} required placeholder="2030-01-01T09:00:00Z" value={start} onChange={(ev) => setStart(ev.target.value)} />}</Field>
          <Field label="End (optional)" error={e} path="plan.end_date">{(p) => <input {...p} value={end} onChange={(ev) => setEnd(ev.target.value)} />}</Field>
        </>}
        <Field label="Approval timeout" error={e} path="plan.approval_timeout" hint="then the rollout pauses">{(p) => <input {...p} value={approvalTimeout} onChange={(ev) => setApprovalTimeout(ev.target.value)} />}</Field>
      </div>
      {strategy === 'gradual' && (
        <fieldset className="steps">
          <legend>Steps</legend>
          {steps.map((s, i) => (
            <div className="grid4 step" key={i}>
              <Field label={`Step ${i + 1} percentage`} error={e} path={`plan.steps.${i}.percentage`}>{(p) => <input {...p} type="number" min={0} max={100} step="0.001" value={numberShown(s.percentage)} onChange={(ev) => setStep(i, { percentage: numberFrom(ev.target.value) })} />}</Field>
              <Field label="Hold" hint='e.g. "30 minutes", "1 day"' error={e} path={`plan.steps.${i}.hold`}>{(p) => <input {...p} value={s.hold} onChange={(ev) => setStep(i, { hold: ev.target.value })} />}</Field>
              <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span>
                <label className="inline"><input type="checkbox" checked={s.approval} onChange={(ev) => setStep(i, { approval: ev.target.checked })} /> needs approval</label></div>
              <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span>
                <button type="button" className="danger-link" onClick={() => setSteps(steps.filter((_, j) => j !== i))}>Remove step {i + 1}</button></div>
            </div>
          ))}
          <button type="button" onClick={() => setSteps([...steps, { percentage: 100, hold: '', approval: false }])}>Add step</button>
          <FinalHoldWarning plan={plan()} />
        </fieldset>
      )}
      {strategy === 'split' && <>
        <SplitStepsEditor steps={splitSteps} order={order} error={e} onChange={setSplitSteps} />
        <FinalHoldWarning plan={plan()} />
      </>}
      <GuardFields guard={guard} at="plan.guard" error={e} rollbackWords={strategy === 'split' ? 'roll back to the starting split' : 'roll back to 0%'} onChange={(patch) => setGuard({ ...guard, ...patch })} />
      <Field label="Why start this rollout (for the audit log)" error={e} path="reason">{(p) => <input {...p} value={reason} onChange={(ev) => setReason(ev.target.value)} />}</Field>
      <PolicyGate policy={policy} gated={gated} env={env} doing="Starting this rollout" bypass={bypass} onBypass={setBypass} />
      <ErrorBox error={e} showIssues={!(e instanceof ApiError && e.status === 0)} />
      {requested && <ChangeRequestNotice created={requested} />}
      <WriteButton allowed={allowed} className="primary" type="submit" disabled={run.busy} id={`${id}-start`}>{run.busy ? 'Starting…' : 'Start rollout'}</WriteButton>
    </form>
  );
}
