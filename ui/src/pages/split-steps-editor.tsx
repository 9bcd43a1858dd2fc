import { Field } from '../components.tsx';
import { numberFrom, numberShown } from '../validation.ts';
import type { SplitEntry } from '../../../src/domain/variants.ts';
import { defaultSplitWeights } from '../serving.ts';

/** One step of a split rollout as the form edits it: a weight per variant (0 leaves the variant out). */
export interface SplitStepDraft { weights: Record<string, number>; hold: string; approval: boolean }

/**
 * The order a step's split lists its variants in: the config's variants, its off variant last. Each
 * user's bucket is fixed and the split gives each variant the next range of buckets in this order,
 * so the first variant only gains users while its weight grows and the off variant (the baseline,
 * last) only loses them (docs/rollouts.md, "Variants and weighted rollouts").
 */
export function splitOrder(variants: readonly string[], offVariant: string): string[] {
  return [...variants.filter((v) => v !== offVariant), ...(variants.includes(offVariant) ? [offVariant] : [])];
}

/**
 * What a step sends: the variants whose weight is not 0, in splitOrder. An emptied or negative weight
 * is sent as it is (NaN, -5) so the API's schema refuses it at its field instead of dropping the variant.
 */
export function splitOf(step: SplitStepDraft, order: readonly string[]): SplitEntry[] {
  return order.filter((v) => (step.weights[v] ?? 0) !== 0).map((variant) => ({ variant, weight: step.weights[variant]! }));
}

/** The steps to start from (defaultSplitWeights: from the split served now, if any); the last waits for a go-ahead. */
export function defaultSplitSteps(order: readonly string[], current?: readonly SplitEntry[] | null): SplitStepDraft[] {
  const weights = defaultSplitWeights(order, current);
  return weights.map((w, i) => (weights.length === 1 ? { weights: w, hold: '', approval: false }
    : { weights: w, hold: i === weights.length - 1 ? '' : '1 day', approval: i === weights.length - 1 }));
}

const total = (step: SplitStepDraft) => Object.values(step.weights).reduce((sum, w) => sum + Math.round(w * 1000), 0) / 1000;

/** A weights-per-step grid: one row per step, one weight per variant, the row's total beside it. */
export function SplitStepsEditor({ steps, order, error, onChange }: {
  steps: SplitStepDraft[]; order: readonly string[]; error: unknown; onChange: (steps: SplitStepDraft[]) => void;
}) {
  const setStep = (i: number, patch: Partial<SplitStepDraft>) => onChange(steps.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  return (
    <fieldset className="steps" data-testid="split-steps">
      <legend>Steps: weight per variant (each step adds up to 100)</legend>
      {order.length < 2 && <p className="warning">This config declares {order.length} variant: declare more in the config editor to split traffic.</p>}
      {steps.map((step, i) => (
        <div className="grid4 step" key={i} data-step={i + 1}>
          {order.map((variant) => (
            <Field key={variant} label={`Step ${i + 1} ${variant}`} error={error} path={`plan.steps.${i}.split.${splitOf(step, order).findIndex((e) => e.variant === variant)}.weight`}>{(p) => (
              <input {...p} type="number" min={0} max={100} step="0.001" value={numberShown(step.weights[variant] ?? 0)}
                onChange={(ev) => setStep(i, { weights: { ...step.weights, [variant]: numberFrom(ev.target.value) } })} />)}</Field>
          ))}
          <Field label={`Step ${i + 1} total`} error={error} path={`plan.steps.${i}.split`}>{(p) => (
            <output {...p} data-testid={`split-total-${i + 1}`} className={total(step) === 100 ? '' : 'field-error'}>{Number.isFinite(total(step)) ? `${total(step)}%` : '—'}</output>)}</Field>
          <Field label="Hold" hint='e.g. "30 minutes", "1 day"' error={error} path={`plan.steps.${i}.hold`}>{(p) => <input {...p} value={step.hold} onChange={(ev) => setStep(i, { hold: ev.target.value })} />}</Field>
          <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span>
            <label className="inline"><input type="checkbox" checked={step.approval} onChange={(ev) => setStep(i, { approval: ev.target.checked })} /> needs approval</label></div>
          <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span>
            <button type="button" className="danger-link" onClick={() => onChange(steps.filter((_, j) => j !== i))}>Remove step {i + 1}</button></div>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...steps, { weights: { ...(steps.at(-1)?.weights ?? {}) }, hold: '', approval: false }])}>Add step</button>
    </fieldset>
  );
}
