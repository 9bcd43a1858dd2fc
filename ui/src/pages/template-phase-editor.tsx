import { ROLES } from '../../../src/auth/rbac.ts';
import { Field } from '../components.tsx';
import { GuardFields } from './guard-fields.tsx';
import type { PhaseDraft, RolloutKind, StepDraft } from '../template-form.ts';
import { numberFrom, numberShown } from '../validation.ts';

const ROLLOUTS: Array<[RolloutKind, string]> = [
  ['immediate', 'at once, to a percentage'],
  ['gradual', 'in steps'],
  ['none', 'none (audience only)'],
  ['json', 'another plan (JSON)'],
];

/**
 * One phase of a release template: where it runs, who it releases to first, how it rolls out, the
 * approval it waits for and the soak after it. `error` carries the API's field issues (paths `phases.N.…`).
 */
export function PhaseEditor({ phase, index, count, environments, segments, error, onChange, onMove, onRemove }: {
  phase: PhaseDraft; index: number; count: number; environments: string[]; segments: string[]; error: unknown;
  onChange: (patch: Partial<PhaseDraft>) => void; onMove: (to: number) => void; onRemove: () => void;
}) {
  const at = `phases.${index}`;
  const setStep = (i: number, patch: Partial<StepDraft>) => onChange({ steps: phase.steps.map((s, j) => (j === i ? { ...s, ...patch } : s)) });
  const envs = environments.includes(phase.environment) ? environments : [...environments, phase.environment];
  return (
    <fieldset className="phase" data-testid="phase-editor" data-phase={index + 1}>
      <legend>Phase {index + 1}{phase.name.trim() ? ` — ${phase.name.trim()}` : ` — ${phase.environment}`}</legend>
      <div className="grid3">
        <Field label="Environment" error={error} path={`${at}.environment`}>{(p) => (
          <select {...p} value={phase.environment} onChange={(e) => onChange({ environment: e.target.value })}>
            {envs.map((e) => <option key={e}>{e}</option>)}
          </select>)}</Field>
        <Field label="Phase name" hint="optional; the environment by default" error={error} path={`${at}.name`}>{(p) => (
          <input {...p} value={phase.name} onChange={(e) => onChange({ name: e.target.value })} />)}</Field>
        <Field label="Approval before it starts" error={error} path={`${at}.approval.role`} hint="never by whoever started the pipeline">{(p) => (
          <select {...p} value={phase.approvalRole} onChange={(e) => onChange({ approvalRole: e.target.value as PhaseDraft['approvalRole'] })}>
            <option value="">none</option>
            {ROLES.filter((r) => r !== 'viewer').map((r) => <option key={r} value={r}>{r === 'admin' ? 'an admin' : `an ${r.replace('_', ' ')} (or an admin)`}</option>)}
          </select>)}</Field>
        <Field label="Audience first (segments)" hint={segments.length ? `comma-separated, e.g. ${segments.slice(0, 3).join(', ')}` : 'comma-separated segment keys (no segments yet)'} error={error} path={`${at}.audience`} nested>{(p) => (
          <input {...p} value={phase.segments} list="segment-keys" onChange={(e) => onChange({ segments: e.target.value })} />)}</Field>
        <Field label="Audience variant" hint="empty: the on variant" error={error} path={`${at}.audience.variant`}>{(p) => (
          <input {...p} value={phase.variant} disabled={!phase.segments.trim()} onChange={(e) => onChange({ variant: e.target.value })} />)}</Field>
        <Field label="Soak after it" hint='e.g. "1 hour", "1 day"; empty: none' error={error} path={`${at}.soak`}>{(p) => (
          <input {...p} value={phase.soak} onChange={(e) => onChange({ soak: e.target.value })} />)}</Field>
        <Field label="Rollout" error={error} path={`${at}.plan`} nested={phase.rollout === 'json'}>{(p) => (
          <select {...p} value={phase.rollout} onChange={(e) => onChange({ rollout: e.target.value as RolloutKind })}>
            {ROLLOUTS.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>)}</Field>
        {phase.rollout === 'immediate' && (
          <Field label="Percentage" error={error} path={`${at}.plan.percentage`}>{(p) => (
            <input {...p} type="number" min={0} max={100} step="0.001" value={numberShown(phase.percentage)} onChange={(e) => onChange({ percentage: numberFrom(e.target.value) })} />)}</Field>
        )}
      </div>
      {phase.rollout === 'gradual' && (
        <fieldset className="steps">
          <legend>Steps</legend>
          {phase.steps.map((s, i) => (
            <div className="grid4 step" key={i}>
              <Field label={`Step ${i + 1} percentage`} error={error} path={`${at}.plan.steps.${i}.percentage`}>{(p) => (
                <input {...p} type="number" min={0} max={100} step="0.001" value={numberShown(s.percentage)} onChange={(e) => setStep(i, { percentage: numberFrom(e.target.value) })} />)}</Field>
              <Field label="Hold" hint='e.g. "30 minutes"' error={error} path={`${at}.plan.steps.${i}.hold`}>{(p) => (
                <input {...p} value={s.hold} onChange={(e) => setStep(i, { hold: e.target.value })} />)}</Field>
              <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span>
                <label className="inline"><input type="checkbox" checked={s.approval} onChange={(e) => setStep(i, { approval: e.target.checked })} /> needs approval</label></div>
              <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span>
                <button type="button" className="danger-link" disabled={phase.steps.length === 1} onClick={() => onChange({ steps: phase.steps.filter((_, j) => j !== i) })}>Remove step {i + 1}</button></div>
            </div>
          ))}
          <button type="button" onClick={() => onChange({ steps: [...phase.steps, { percentage: 100, hold: '', approval: false }] })}>Add step</button>
        </fieldset>
      )}
      {phase.rollout === 'json' && (
        <Field label="Plan (JSON)" hint="the plan POST …/rollouts takes: strategy scheduled, split, or gradual with linear" error={error} path={`${at}.plan`} nested className="wide">{(p) => (
          <textarea {...p} className="mono" rows={6} value={phase.planJson} onChange={(e) => onChange({ planJson: e.target.value })} />)}</Field>
      )}
      {phase.rollout !== 'none' && (
        <GuardFields guard={phase.guard} at={`${at}.guard`} error={error} onChange={(patch) => onChange({ guard: { ...phase.guard, ...patch } })} />
      )}
      <div className="actions">
        <button type="button" disabled={index === 0} onClick={() => onMove(index - 1)}>Move up</button>
        <button type="button" disabled={index === count - 1} onClick={() => onMove(index + 1)}>Move down</button>
        <button type="button" className="danger-link" disabled={count === 1} onClick={onRemove}>Remove phase {index + 1}</button>
      </div>
    </fieldset>
  );
}
