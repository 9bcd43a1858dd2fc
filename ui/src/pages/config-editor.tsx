import { useEffect, useMemo, useState } from 'react';
import { flagConfigInputSchemaFor, type Condition, type FlagConfig, type FlagRule, type Operator, type Rollout } from '../../../src/domain/flag.ts';
import type { EnvironmentConfig, FeatureFlag, Flag, ScheduledChangeCreated, SegmentPage } from '../../../src/protocol/admin-api.ts';
import type { ChangeRequestCreated } from '../../../src/change-requests/change-request-schemas.ts';
import { ApiError, enc } from '../api.ts';
import { announceChangeRequests, covers, isChangeRequestCreated, usePolicy } from '../change-requests.ts';
import { bypassHeaders, ChangeRequestNotice, PolicyGate } from './change-request-notice.tsx';
import { Diff, ErrorBox, Field, time, useAction, WriteButton } from '../components.tsx';
import { useSession } from '../session.tsx';
import { localToIso, scheduledChangesPath } from './scheduled-changes-panel.tsx';
import { conditionText, parseConditionValue, ValueInput } from './value-input.tsx';
import { numberFrom, numberShown, refusal } from '../validation.ts';
import { variantDraftOf, VariantsEditor, VariantSelect, type VariantDraft } from './variants-panel.tsx';
import { ActorName } from '../names.tsx';

const OPERATORS = ['equals', 'not_equals', 'contains', 'in', 'not_in', 'greater_than', 'less_than', 'greater_or_equal', 'less_or_equal',
  'starts_with', 'ends_with', 'exists', 'semver_equals', 'semver_greater_than', 'semver_less_than', 'before', 'after'];
const RULE_TYPES = ['user_attribute', 'environment', 'percentage', 'custom'];
const ACTIONS = ['enable', 'disable', 'serve', 'override_value'];

/** A rule being edited: the priority field may be empty for a moment (the schema then names it). */
type RuleDraft = Omit<FlagRule, 'priority' | 'type' | 'action'> & { priority: number | ''; type: string; action: string };
/**
 * The PUT body as the form holds it; flagConfigInputSchemaFor checks it before it is sent. Always with
 * a variants list: value and off_value are left out (the server fills them from on_variant and off_variant).
 */
type ConfigDraft = Omit<FlagConfig, 'rules' | 'kill_switch' | 'variants' | 'on_variant' | 'off_variant' | 'split' | 'value' | 'off_value'> & VariantDraft & { rules: RuleDraft[] };

/** The part of a config the PUT takes (the kill switch changes only through its own route). */
export function editable(config: EnvironmentConfig | FeatureFlag): ConfigDraft {
  return {
    enabled: config.enabled, ...variantDraftOf(config),
    rules: config.rules ?? [], targeting: config.targeting ?? [], rollout: config.rollout ?? null,
    // Kept as it is: an imported Unleash flag saved from the editor must keep its users' buckets.
    ...(config.bucketing ? { bucketing: config.bucketing } : {}),
  };
}

/**
 * The PUT body of a draft: no rollout and no split are left out rather than sent as null, so a config
 * saved from the editor reads like one never edited (a fresh config has neither field).
 */
export function putBodyOf(draft: ConfigDraft): Partial<ConfigDraft> {
  const { rollout, split, ...rest } = draft;
  return { ...rest, ...(rollout ? { rollout } : {}), ...(split ? { split } : {}) };
}

interface Conflict { mine: number; theirs: number; by: string; at: string }

/** The config's field issues of a scheduling error at the editor's paths (`body.config.rules.0.id` → `rules.0.id`). */
function atEditorPaths(error: unknown): unknown {
  if (!(error instanceof ApiError) || !Array.isArray(error.details)) return error;
  const details = error.issues.map((d) => ({ ...d, path: `body.${d.path.replace(/^config\./, '')}` }));
  return new ApiError(error.status, error.code, error.message, details);
}

/** The browser's UTC offset now, e.g. "UTC+01:00". */
function utcOffset(): string {
  const iso = localToIso('2000-01-01T00:00') ?? '';
  return `UTC${iso.slice(-6)}`;
}

/**
 * Edits one environment's config: values, rules with conditions, targeting, rollout; diff, then save with If-Match,
 * or schedule the edits to apply at a set time (a scheduledChange workflow; `onScheduled` gets the API's answer).
 */
export function ConfigEditor({ flag, env, config, onSaved, onScheduled }: { flag: Flag; env: string; config: EnvironmentConfig; onSaved: () => void; onScheduled?: (change: ScheduledChangeCreated) => void }) {
  const { api, can } = useSession();
  const allowed = can({ resource: 'flag', action: 'write', environment: env, tags: flag.tags });
  const ro = !allowed.allowed;
  // The environment's change policy: a covered save or schedule becomes a change request (202) unless bypassed.
  const policy = usePolicy(api, env);
  const [bypass, setBypass] = useState(false);
  const [requested, setRequested] = useState<ChangeRequestCreated | null>(null);
  const [base, setBase] = useState(() => ({ version: config.version as number, config: editable(config) }));
  const [draft, setDraft] = useState<ConfigDraft>(() => editable(config));
  const [reviewing, setReviewing] = useState(false);
  const [reason, setReason] = useState('');
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [saved, setSaved] = useState<number | null>(null);
  const [later, setLater] = useState(false);
  const [when, setWhen] = useState('');
  const [scheduledAt, setScheduledAt] = useState<string | null>(null);
  const segments = useSegments();

  // A newer server config (e.g. after a kill or a rollout step) replaces an untouched draft.
  useEffect(() => {
    if (config.version !== base.version && JSON.stringify(draft) === JSON.stringify(base.config)) {
      setBase({ version: config.version, config: editable(config) });
      setDraft(editable(config));
    }
  }, [config.version]);

  const dirty = JSON.stringify(draft) !== JSON.stringify(base.config);
  const set = (patch: Partial<ConfigDraft>) => setDraft({ ...draft, ...patch });
  // The PUT body's own schema (the API's): a percentage of 150 is refused at its field before anything is sent.
  const problems = useMemo(() => refusal(flagConfigInputSchemaFor(flag.type), draft), [draft, flag.type]);
  const [showProblems, setShowProblems] = useState(false);
  const review = () => {
    setShowProblems(true);
    if (problems) return;
    setReviewing(true);
    setSaved(null);
    setScheduledAt(null);
    setRequested(null);
  };
  const gated = covers(policy, later ? 'scheduled_changes' : 'configs');
  /** A write the policy turned into a request: nothing changed; the editor goes back to the current config and links the request. */
  /** Nothing changes now (a scheduled change or a request): back to the current config, the form cleared. */
  const backToCurrent = () => {
    setDraft(base.config);
    setReviewing(false);
    setLater(false);
    setWhen('');
    setReason('');
    setConflict(null);
  };
  const becameRequest = (answer: ChangeRequestCreated) => {
    backToCurrent();
    setRequested(answer);
    announceChangeRequests();
  };

  const save = useAction(async () => {
    try {
      const answer = await api.request<FeatureFlag | ChangeRequestCreated>('PUT', `/api/v1/flags/${enc(flag.key)}/environments/${enc(env)}`, {
        body: { ...putBodyOf(draft), ...(reason.trim() ? { reason: reason.trim() } : {}) }, headers: { 'if-match': String(base.version), ...bypassHeaders(gated && bypass, reason) },
      });
      if (isChangeRequestCreated(answer)) return becameRequest(answer);
      setBase({ version: answer.version, config: editable(answer) });
      setDraft(editable(answer));
      setReviewing(false);
      setConflict(null);
      setReason('');
      setSaved(answer.version);
      onSaved();
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        // Someone saved in between: compare my draft with theirs and let me decide.
        const theirs = await api.get<FeatureFlag>(`/api/v1/flags/${enc(flag.key)}/environments/${enc(env)}`);
        setConflict({ mine: base.version, theirs: theirs.version, by: theirs.metadata?.updated_by ?? 'someone', at: theirs.metadata?.updated_at ?? '' });
        setBase({ version: theirs.version, config: editable(theirs) });
        setReviewing(true);
        return;
      }
      if (!(error instanceof ApiError && error.status === 0)) setReviewing(false);
      throw error;
    }
  });
  const schedule = useAction(async () => {
    const at = localToIso(when);
    try {
      const answer = await api.request<ScheduledChangeCreated | ChangeRequestCreated>('POST', scheduledChangesPath(flag.key, env), {
        body: { at: at ?? when, config: putBodyOf(draft), ...(reason.trim() ? { reason: reason.trim() } : {}) }, headers: bypassHeaders(gated && bypass, reason),
      });
      if (isChangeRequestCreated(answer)) return becameRequest(answer);
      // The change applies at its time.
      backToCurrent();
      setScheduledAt(answer.at);
      onScheduled?.(answer);
    } catch (error) {
      throw atEditorPaths(error);
    }
  });
  const err = (showProblems ? problems : null) ?? save.error ?? schedule.error;

  const rules = draft.rules;
  const setRule = (i: number, patch: Partial<RuleDraft>) => set({ rules: rules.map((r, j) => (j === i ? { ...r, ...patch } : r)) });
  const addRule = () => {
    const priority = rules.length ? Math.max(...rules.map((r) => Number(r.priority) || 0)) + 1 : 1;
    set({ rules: [...rules, { id: `rule-${priority}`, type: 'user_attribute', conditions: [{ field: '', operator: 'equals', value: '' }], action: 'enable', priority }] });
  };
  const targeting = draft.targeting;
  const rollout = draft.rollout;
  const setTarget = (i: number, patch: Partial<ConfigDraft['targeting'][number]>) => set({ targeting: targeting.map((r, j) => (j === i ? { ...r, ...patch } : r)) });

  return (
    <section className="card" aria-labelledby={`cfg-${env}`}>
      <h3 id={`cfg-${env}`}>Configuration in {env} <span className="muted small">flag revision {flag.revision}</span></h3>
      {ro && <p className="note" role="note">Read-only: {allowed.reason}.</p>}
      <fieldset disabled={ro} className="plainset">
        <div className="grid3">
          <Field label="Enabled" error={err} path="enabled">{(p) => (
            <select {...p} value={String(draft.enabled)} onChange={(e) => set({ enabled: e.target.value === 'true' })}>
              <option value="true">on</option><option value="false">off</option>
            </select>)}</Field>
        </div>
        <VariantsEditor type={flag.type} draft={draft} onChange={set} error={err} />

        <h4>Rules <span className="muted small">first match by ascending priority wins; all conditions of a rule must match</span></h4>
        {rules.length === 0 && <p className="muted">No rules.</p>}
        {rules.map((rule, i) => (
          <fieldset key={i} className="rule" data-rule={rule.id}>
            <legend>Rule {i + 1}</legend>
            <div className="grid4">
              <Field label="Id" error={err} path={`rules.${i}.id`}>{(p) => <input {...p} value={rule.id} onChange={(e) => setRule(i, { id: e.target.value })} />}</Field>
              <Field label="Priority" error={err} path={`rules.${i}.priority`}>{(p) => <input {...p} type="number" value={rule.priority} onChange={(e) => setRule(i, { priority: e.target.value === '' ? '' : Number(e.target.value) })} />}</Field>
              <Field label="Type" error={err} path={`rules.${i}.type`}>{(p) => (
                <select {...p} value={rule.type} onChange={(e) => setRule(i, { type: e.target.value, percentage: e.target.value === 'percentage' ? (rule.percentage ?? 10) : undefined })}>
                  {RULE_TYPES.map((t) => <option key={t}>{t}</option>)}
                </select>)}</Field>
              <Field label="Action" error={err} path={`rules.${i}.action`}>{(p) => (
                <select {...p} value={rule.action} onChange={(e) => setRule(i, {
                  action: e.target.value,
                  value: e.target.value === 'override_value' ? (rule.value ?? draft.variants.find((v) => v.name === draft.on_variant)?.value) : undefined,
                  variant: e.target.value === 'serve' ? (rule.variant ?? draft.on_variant) : undefined,
                })}>
                  {ACTIONS.map((t) => <option key={t}>{t}</option>)}
                </select>)}</Field>
              {rule.type === 'percentage' && (
                <Field label="Percentage" error={err} path={`rules.${i}.percentage`}>{(p) => <input {...p} type="number" min={0} max={100} step="0.001" value={rule.percentage ?? ''} onChange={(e) => setRule(i, { percentage: e.target.value === '' ? undefined : Number(e.target.value) })} />}</Field>
              )}
              {rule.action === 'serve' && (
                <Field label="Variant" error={err} path={`rules.${i}.variant`}>{(p) => <VariantSelect {...p} names={draft.variants.map((v) => v.name)} value={rule.variant} onChange={(variant) => setRule(i, { variant })} />}</Field>
              )}
              {rule.action === 'override_value' && (
                <Field label="Override value" error={err} path={`rules.${i}.value`}>{(p) => <ValueInput {...p} type={flag.type} value={rule.value} onChange={(v) => setRule(i, { value: v })} />}</Field>
              )}
            </div>
            {rule.conditions.map((c, k) => (
              <ConditionRow key={k} condition={c} pathPrefix={`rules.${i}.conditions.${k}`} error={err}
                onChange={(nc) => setRule(i, { conditions: rule.conditions.map((x, j) => (j === k ? nc : x)) })}
                onRemove={() => setRule(i, { conditions: rule.conditions.filter((_, j) => j !== k) })} />
            ))}
            <div className="actions">
              <button type="button" onClick={() => setRule(i, { conditions: [...rule.conditions, { field: '', operator: 'equals', value: '' }] })}>Add condition</button>
              <button type="button" disabled={i === 0} onClick={() => set({ rules: swapPriority(rules, i, i - 1) })} aria-label={`Move rule ${i + 1} up`}>↑</button>
              <button type="button" disabled={i === rules.length - 1} onClick={() => set({ rules: swapPriority(rules, i, i + 1) })} aria-label={`Move rule ${i + 1} down`}>↓</button>
              <button type="button" className="danger-link" onClick={() => set({ rules: rules.filter((_, j) => j !== i) })}>Remove rule</button>
            </div>
          </fieldset>
        ))}
        <button type="button" onClick={addRule}>Add rule</button>

        <h4>Targeting <span className="muted small">users in any of the segments get the on variant (or the one chosen), up to the percentage</span></h4>
        {targeting.map((t, i) => (
          <fieldset key={i} className="rule">
            <legend>Targeting rule {i + 1}</legend>
            <div className="grid4">
              <Field label="Segments" hint={segments.length ? `known: ${segments.join(', ')}` : 'comma-separated segment keys'} error={err} path={`targeting.${i}.segments`}>{(p) => (
                <input {...p} list="segment-keys" value={(t.segments ?? []).join(', ')} onChange={(e) => setTarget(i, { segments: e.target.value.split(',').map((s) => s.trim()).filter(Boolean) })} />)}</Field>
              <Field label="Percentage" error={err} path={`targeting.${i}.percentage`}>{(p) => <input {...p} type="number" min={0} max={100} step="0.001" value={numberShown(t.percentage ?? 100)} onChange={(e) => setTarget(i, { percentage: numberFrom(e.target.value) })} />}</Field>
              <Field label="Serves" error={err} path={`targeting.${i}.variant`}>{(p) => (
                <VariantSelect {...p} names={draft.variants.map((v) => v.name)} value={t.variant} optional={`the on variant (${draft.on_variant})`}
                  onChange={(variant) => setTarget(i, { variant: variant || undefined })} />)}</Field>
              <Field label="Active" error={err} path={`targeting.${i}.enabled`}>{(p) => (
                <select {...p} value={String(t.enabled ?? true)} onChange={(e) => setTarget(i, { enabled: e.target.value === 'true' })}><option value="true">yes</option><option value="false">no</option></select>)}</Field>
              <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span>
                <button type="button" className="danger-link" onClick={() => set({ targeting: targeting.filter((_, j) => j !== i) })}>Remove targeting rule {i + 1}</button></div>
            </div>
          </fieldset>
        ))}
        <datalist id="segment-keys">{segments.map((s) => <option key={s} value={s} />)}</datalist>
        <button type="button" onClick={() => set({ targeting: [...targeting, { segments: [], percentage: 100, enabled: true }] })}>Add targeting rule</button>

        <h4>Rollout</h4>
        <div className="grid4">
          <Field label="Strategy" error={err} path="rollout.strategy">{(p) => (
            <select {...p} value={rollout?.strategy ?? ''} onChange={(e) => set({ rollout: e.target.value ? { percentage: rollout?.percentage ?? 100, ...rollout, strategy: e.target.value as Rollout['strategy'] } : null })}>
              <option value="">none (100%)</option><option>immediate</option><option>gradual</option><option>scheduled</option>
            </select>)}</Field>
          {rollout && <>
            <Field label="Percentage" error={err} path="rollout.percentage">{(p) => <input {...p} type="number" min={0} max={100} step="0.001" value={numberShown(rollout.percentage)} onChange={(e) => set({ rollout: { ...rollout, percentage: numberFrom(e.target.value) } })} />}</Field>
            <Field label="Start (ISO 8601)" error={err} path="rollout.start_date">{(p) => <input {...p} placeholder="2030-01-01T09:00:00Z" value={rollout.start_date ?? ''} onChange={(e) => set({ rollout: { ...rollout, start_date: e.target.value || null } })} />}</Field>
            <Field label="End (ISO 8601)" error={err} path="rollout.end_date">{(p) => <input {...p} value={rollout.end_date ?? ''} onChange={(e) => set({ rollout: { ...rollout, end_date: e.target.value || null } })} />}</Field>
          </>}
        </div>
      </fieldset>

      {conflict && (
        <div className="error" role="alert" data-testid="conflict">
          <strong>Conflict:</strong> you edited an older copy, but <ActorName id={conflict.by} /> saved a change
          {conflict.at ? ` at ${time(conflict.at)}` : ''} in the meantime. The diff below now compares your draft with their version:
          saving again replaces theirs with yours; “Discard my changes” takes theirs.
        </div>
      )}
      <ErrorBox error={err} showIssues={!(err instanceof ApiError && err.issues.length > 0 && (err.status === 400 || err === problems))} />
      {err instanceof ApiError && err.status === 400 && err.issues.length > 0 && <p className="field-error" role="alert">The API refused the change: see the messages at the fields ({err.issues.map((i) => i.path).join(', ')}).</p>}
      {saved !== null && !dirty && <p role="status" className="ok" data-testid="saved">Saved (flag revision {flag.revision}).</p>}
      {requested && !dirty && <ChangeRequestNotice created={requested} />}
      {scheduledAt !== null && !dirty && <p role="status" className="ok" data-testid="scheduled-ok">Scheduled to apply at {time(scheduledAt)} (see “Scheduled changes in {env}”).</p>}

      {!ro && (reviewing ? (
        <div className="review" aria-label="Review the change">
          <h4>Change to {env}</h4>
          <Diff before={base.config} after={draft} label={`Diff of the ${env} config`} />
          <Field label="Reason (for the audit log)" error={err} path="reason">{(p) => <input {...p} value={reason} onChange={(e) => setReason(e.target.value)} />}</Field>
          {onScheduled && (
            <label className="inline">
              <input type="checkbox" checked={later} onChange={(e) => { setLater(e.target.checked); schedule.setError(null); }} /> Schedule these edits instead of saving now
            </label>
          )}
          {later && (
            <Field label="Apply at" hint={`your local time (${utcOffset()}); the whole config is replaced then`} error={err} path="at" className="scheduled-at">{(p) => (
              <input {...p} type="datetime-local" step={1} required value={when} onChange={(e) => setWhen(e.target.value)} />)}</Field>
          )}
          <PolicyGate policy={policy} gated={gated} env={env} doing={later ? 'Scheduling' : 'Saving'} bypass={bypass} onBypass={setBypass} />
          <div className="actions">
            {later
              ? <WriteButton allowed={allowed} className="primary" onClick={() => void schedule.run()} disabled={schedule.busy || !localToIso(when) || problems !== null}>{schedule.busy ? 'Scheduling…' : 'Schedule'}</WriteButton>
              : <WriteButton allowed={allowed} className="primary" onClick={() => void save.run()} disabled={save.busy || problems !== null}>{save.busy ? 'Saving…' : gated && !bypass ? 'Request approval' : 'Save'}</WriteButton>}
            <button type="button" onClick={() => setReviewing(false)}>Back to editing</button>
          </div>
        </div>
      ) : (
        <div className="actions">
          <WriteButton allowed={allowed} className="primary" disabled={!dirty} onClick={review}>Review changes</WriteButton>
          <button type="button" disabled={!dirty} onClick={() => { setDraft(base.config); setConflict(null); setShowProblems(false); save.setError(null); schedule.setError(null); }}>Discard my changes</button>
        </div>
      ))}
    </section>
  );
}

function swapPriority(rules: RuleDraft[], i: number, j: number): RuleDraft[] {
  const out = rules.map((r) => ({ ...r }));
  const a = out[i]!, b = out[j]!;
  [a.priority, b.priority] = [b.priority, a.priority];
  if (a.priority === b.priority) a.priority = Number(b.priority) + (i < j ? 1 : -1);
  out[i] = b;
  out[j] = a;
  return out;
}

function ConditionRow({ condition, pathPrefix, error, onChange, onRemove }: { condition: Condition; pathPrefix: string; error: unknown; onChange: (c: Condition) => void; onRemove: () => void }) {
  const [text, setText] = useState(() => conditionText(condition.value));
  return (
    <div className="condition grid4">
      <Field label="Field" hint="dot path into the context, e.g. country or user.tier" error={error} path={`${pathPrefix}.field`}>{(p) => <input {...p} value={condition.field} onChange={(e) => onChange({ ...condition, field: e.target.value })} />}</Field>
      <Field label="Operator" error={error} path={`${pathPrefix}.operator`}>{(p) => (
        <select {...p} value={condition.operator} onChange={(e) => onChange({ ...condition, operator: e.target.value as Operator, value: parseConditionValue(e.target.value, text) })}>
          {OPERATORS.map((o) => <option key={o}>{o}</option>)}
        </select>)}</Field>
      <Field label="Value" hint={['in', 'not_in'].includes(condition.operator) ? 'comma-separated or a JSON array' : 'text, number or true/false'} error={error} path={`${pathPrefix}.value`}>{(p) => (
        <input {...p} value={text} onChange={(e) => { setText(e.target.value); onChange({ ...condition, value: parseConditionValue(condition.operator, e.target.value) }); }} />)}</Field>
      <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span><button type="button" className="danger-link" onClick={onRemove}>Remove condition</button></div>
    </div>
  );
}

// Segment keys for the targeting pickers (a hint only: the API checks that they exist).
let segmentCache: Promise<string[]> | null = null;
function useSegments(): string[] {
  const { api } = useSession();
  const [keys, setKeys] = useState<string[]>([]);
  useEffect(() => {
    segmentCache ??= api.get<SegmentPage>('/api/v1/segments?limit=500').then((r) => r.segments.map((s) => s.key)).catch(() => []);
    void segmentCache.then(setKeys);
    return () => {
      segmentCache = null;
    };
  }, [api]);
  return keys;
}
