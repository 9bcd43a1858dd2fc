import { Field } from '../components.tsx';
import type { GuardDraft } from '../guard-draft.ts';

/** A rollout guard's fields; `at` is where the API reports its issues (`phases.2.guard`, `plan.guard`). */
export function GuardFields({ guard, at, error, rollbackWords = 'roll back to 0%', onChange }: {
  guard: GuardDraft; at: string; error: unknown; rollbackWords?: string; onChange: (patch: Partial<GuardDraft>) => void;
}) {
  return (
    <fieldset className="guard-form" data-testid="guard-fields">
      <legend>Guard (auto-rollback)</legend>
      <div className="grid4">
        <Field label="Guard source" error={error} path={at}>{(p) => (
          <select {...p} value={guard.source} onChange={(ev) => onChange({ source: ev.target.value as GuardDraft['source'] })}>
            <option value="none">none</option><option value="events">error rate of reported events</option><option value="prometheus">Prometheus query</option>
          </select>)}</Field>
        {guard.source !== 'none' && <>
          <Field label="Interval" hint='e.g. "1 minute"' error={error} path={`${at}.interval`}>{(p) => <input {...p} value={guard.interval} onChange={(ev) => onChange({ interval: ev.target.value })} />}</Field>
          <Field label="On breach" error={error} path={`${at}.action`}>{(p) => (
            <select {...p} value={guard.action} onChange={(ev) => onChange({ action: ev.target.value as GuardDraft['action'] })}>
              <option value="rollback">{rollbackWords}</option><option value="kill">pull the kill switch</option>
            </select>)}</Field>
        </>}
        {guard.source === 'events' && <>
          <Field label="Max error rate (0–1)" error={error} path={`${at}.max_error_rate`}>{(p) => <input {...p} value={guard.max_error_rate} onChange={(ev) => onChange({ max_error_rate: ev.target.value })} />}</Field>
          <Field label="Max increase over untreated (0–1)" error={error} path={`${at}.max_error_rate_increase`}>{(p) => <input {...p} value={guard.max_error_rate_increase} onChange={(ev) => onChange({ max_error_rate_increase: ev.target.value })} />}</Field>
          <Field label="Min samples" error={error} path={`${at}.min_samples`}>{(p) => <input {...p} inputMode="numeric" value={guard.min_samples} onChange={(ev) => onChange({ min_samples: ev.target.value })} />}</Field>
        </>}
        {guard.source === 'prometheus' && <>
          <Field label="PromQL query" error={error} path={`${at}.query`} className="wide">{(p) => <input {...p} value={guard.query} onChange={(ev) => onChange({ query: ev.target.value })} />}</Field>
          <Field label="Threshold" error={error} path={`${at}.threshold`}>{(p) => <input {...p} inputMode="decimal" value={guard.threshold} onChange={(ev) => onChange({ threshold: ev.target.value })} />}</Field>
          <Field label="Breach when" error={error} path={`${at}.comparison`}>{(p) => (
            <select {...p} value={guard.comparison} onChange={(ev) => onChange({ comparison: ev.target.value as GuardDraft['comparison'] })}><option>above</option><option>below</option></select>)}</Field>
        </>}
      </div>
    </fieldset>
  );
}
