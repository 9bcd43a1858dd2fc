import { useRef } from 'react';
import type { FlagConfig } from '../../../src/domain/flag.ts';
import { LEGACY_OFF, LEGACY_ON, thousandths, type SplitEntry } from '../../../src/domain/variants.ts';
import type { EnvironmentConfig } from '../../../src/protocol/admin-api.ts';
import { Field } from '../components.tsx';
import { numberFrom, numberShown } from '../validation.ts';
import { ValueInput } from './value-input.tsx';
import { servingSentence } from '../serving.ts';

/** The variant fields of a config as the editor holds them: always a variants list (value / off_value follow from it). */
export interface VariantDraft {
  variants: Array<{ name: string; value: unknown }>;
  on_variant: string;
  off_variant: string;
  split: SplitEntry[] | null;
}

/** A config's variants; one written before variants existed reads as `on` and `off`, as the server reads it. */
export function variantDraftOf(config: Pick<FlagConfig, 'variants' | 'on_variant' | 'off_variant' | 'value' | 'off_value' | 'split'>): VariantDraft {
  if (config.variants?.length) {
    return {
      variants: config.variants.map((v) => ({ name: v.name, value: v.value })),
      on_variant: config.on_variant ?? config.variants[0]!.name,
      off_variant: config.off_variant ?? config.variants[config.variants.length - 1]!.name,
      split: config.split?.map((s) => ({ ...s })) ?? null,
    };
  }
  return {
    variants: [{ name: LEGACY_ON, value: config.value }, { name: LEGACY_OFF, value: config.off_value }],
    on_variant: LEGACY_ON,
    off_variant: LEGACY_OFF,
    split: config.split?.map((s) => ({ ...s })) ?? null,
  };
}

/** Where a config names variants, so a rename can follow the name everywhere. */
interface References {
  rules: Array<{ action: string; variant?: string | undefined }>;
  targeting: Array<{ variant?: string | undefined }>;
}

/** The variants draft and the references after renaming `from` to `to` (on/off, split, serve rules, targeting). */
export function renameVariant<T extends VariantDraft & References>(draft: T, from: string, to: string): Pick<T, keyof VariantDraft | keyof References> {
  const swap = (name: string | undefined) => (name === from ? to : name);
  return {
    variants: draft.variants.map((v) => (v.name === from ? { ...v, name: to } : v)),
    on_variant: swap(draft.on_variant)!,
    off_variant: swap(draft.off_variant)!,
    split: draft.split?.map((s) => ({ ...s, variant: swap(s.variant)! })) ?? null,
    rules: draft.rules.map((r) => (r.variant === undefined ? r : { ...r, variant: swap(r.variant) })),
    targeting: draft.targeting.map((t) => (t.variant === undefined ? t : { ...t, variant: swap(t.variant) })),
  };
}

/** The split's total in percent, exact to the thousandth (as the server adds it). */
export function splitTotal(split: readonly SplitEntry[]): number {
  return split.reduce((sum, s) => sum + thousandths(Number.isFinite(s.weight) ? s.weight : 0), 0) / 1000;
}

type Draft = VariantDraft & References & { rollout?: unknown };

/**
 * The variants of a config: names and typed values, which is served when on and when off, and an
 * optional weighted split. Nothing is checked here: the editor checks the whole draft with the API's
 * own schema, so a duplicate name, a sum other than 100 or a removed variant still referenced shows at
 * its field before anything is sent.
 */
export function VariantsEditor<T extends Draft>({ type, draft, onChange, error }: { type: string; draft: T; onChange: (patch: Partial<T>) => void; error: unknown }) {
  // Stable row keys, so a JSON value's text stays with its row when an earlier row is removed.
  const keys = useRef<number[]>([]);
  const next = useRef(0);
  while (keys.current.length < draft.variants.length) keys.current.push(next.current++);
  keys.current.length = draft.variants.length;

  const names = draft.variants.map((v) => v.name);
  const setVariant = (i: number, patch: Partial<VariantDraft['variants'][number]>) =>
    onChange({ variants: draft.variants.map((v, j) => (j === i ? { ...v, ...patch } : v)) } as Partial<T>);
  const rename = (i: number, to: string) => {
    const from = draft.variants[i]!.name;
    // References follow a rename, unless the old name is shared (then it is ambiguous, and the schema says so).
    if (names.filter((n) => n === from).length === 1) onChange({ ...renameVariant(draft, from, to), variants: draft.variants.map((v, j) => (j === i ? { ...v, name: to } : v)) } as Partial<T>);
    else setVariant(i, { name: to });
  };
  const remove = (i: number) => {
    keys.current.splice(i, 1);
    onChange({ variants: draft.variants.filter((_, j) => j !== i) } as Partial<T>);
  };
  const add = () => {
    let n = draft.variants.length + 1;
    while (names.includes(`variant-${n}`)) n++;
    onChange({ variants: [...draft.variants, { name: `variant-${n}`, value: draft.variants[0]?.value ?? null }] } as Partial<T>);
  };
  const split = draft.split;
  const setSplit = (s: SplitEntry[] | null) => onChange({ split: s } as Partial<T>);
  const total = split ? splitTotal(split) : 0;

  return (
    <div className="variants" data-testid="variants-editor">
      <h4>Variants <span className="muted small">the named values this config serves</span></h4>
      {draft.variants.map((v, i) => (
        <div key={keys.current[i]} className="variant-row grid3" data-variant={v.name}>
          <Field label={`Variant ${i + 1} name`} error={error} path={`variants.${i}.name`}>{(p) => <input {...p} value={v.name} onChange={(e) => rename(i, e.target.value)} />}</Field>
          <Field label={`Variant ${i + 1} value (${type})`} error={error} path={`variants.${i}.value`}>{(p) => <ValueInput {...p} type={type} value={v.value} onChange={(value) => setVariant(i, { value })} />}</Field>
          <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span>
            <button type="button" className="danger-link" disabled={draft.variants.length === 1} onClick={() => remove(i)}>Remove variant {v.name || i + 1}</button></div>
        </div>
      ))}
      <button type="button" onClick={add}>Add variant</button>

      <div className="grid3">
        <Field label="Served when on" error={error} path="on_variant">{(p) => <VariantSelect {...p} names={names} value={draft.on_variant} onChange={(on_variant) => onChange({ on_variant } as Partial<T>)} />}</Field>
        <Field label="Served when off or killed" error={error} path="off_variant">{(p) => <VariantSelect {...p} names={names} value={draft.off_variant} onChange={(off_variant) => onChange({ off_variant } as Partial<T>)} />}</Field>
      </div>

      <h4>Weighted split <span className="muted small">sticky per user, after rules and targeting; weights add up to 100</span></h4>
      {split === null ? (
        <button type="button" onClick={() => setSplit(draft.variants.map((v, i) => ({ variant: v.name, weight: evenShare(draft.variants.length, i) })))}>Split traffic across variants</button>
      ) : (
        <>
          {split.map((s, i) => (
            <div key={i} className="split-row grid3" data-split={s.variant}>
              <Field label={`Split ${i + 1} variant`} error={error} path={`split.${i}.variant`}>{(p) => (
                <VariantSelect {...p} names={names} value={s.variant} onChange={(variant) => setSplit(split.map((x, j) => (j === i ? { ...x, variant } : x)))} />)}</Field>
              <Field label={`Split ${i + 1} weight (%)`} error={error} path={`split.${i}.weight`}>{(p) => (
                <input {...p} type="number" min={0} max={100} step="0.001" value={numberShown(s.weight)}
                  onChange={(e) => setSplit(split.map((x, j) => (j === i ? { ...x, weight: numberFrom(e.target.value) } : x)))} />)}</Field>
              <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span>
                <button type="button" className="danger-link" onClick={() => setSplit(split.length === 1 ? null : split.filter((_, j) => j !== i))}>Remove split {i + 1}</button></div>
            </div>
          ))}
          <Field label="Split total" error={error} path="split">{(p) => (
            <output id={p.id} aria-invalid={p['aria-invalid']} aria-describedby={p['aria-describedby']} data-testid="split-total" data-total={total}
              className={total === 100 ? 'ok' : 'field-error'}>{total}%{total === 100 ? '' : ' (must be 100)'}</output>)}</Field>
          <div className="actions">
            <button type="button" onClick={() => setSplit([...split, { variant: names.find((n) => !split.some((s) => s.variant === n)) ?? names[0] ?? '', weight: 0 }])}>Add split row</button>
            <button type="button" className="danger-link" onClick={() => setSplit(null)}>Remove the split</button>
          </div>
        </>
      )}
    </div>
  );
}

/** Weights that add up to 100 exactly, to three decimals: the first rows take the remainder. */
function evenShare(count: number, i: number): number {
  const base = Math.floor(100_000 / count);
  return (base + (i < 100_000 - base * count ? 1 : 0)) / 1000;
}

/**
 * A choice of variant. A name that is no longer declared stays selected (marked) so that the
 * schema's "unknown variant" shows at this field instead of the choice silently changing.
 */
export function VariantSelect({ names, value, onChange, optional, ...p }: { id: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string; names: string[]; value: string | undefined; onChange: (name: string) => void; optional?: string }) {
  const unique = [...new Set(names)];
  const missing = value !== undefined && value !== '' && !unique.includes(value);
  return (
    <select {...p} value={value ?? ''} onChange={(e) => onChange(e.target.value)}>
      {optional !== undefined && <option value="">{optional}</option>}
      {unique.map((n) => <option key={n} value={n}>{n}</option>)}
      {missing && <option value={value}>{value} (not declared)</option>}
    </select>
  );
}

/** What a saved config serves, by variant name: on, off (and killed), the split or rollout, and what rules and targeting serve instead. */
export function ServedVariants({ config }: { config: EnvironmentConfig }) {
  const { variants, on_variant, off_variant, split } = variantDraftOf(config);
  const valueOf = (name: string) => JSON.stringify(variants.find((v) => v.name === name)?.value);
  const killed = Boolean(config.kill_switch?.enabled);
  const serving = killed || !config.enabled ? off_variant : on_variant;
  const live = config.enabled && !killed;
  // Rules and targeting that serve something other than the on variant to the users they match.
  const special = [
    ...(config.rules ?? []).flatMap((r) => (r.action === 'serve' && r.variant ? [{ who: `rule ${r.id}`, variant: r.variant }]
      : r.action === 'disable' ? [{ who: `rule ${r.id}`, variant: off_variant }]
        : r.action === 'override_value' ? [{ who: `rule ${r.id}`, variant: `${r.id} (its own value)` }] : [])),
    ...(config.targeting ?? []).flatMap((t) => (t.variant && t.variant !== on_variant ? [{ who: `segment${t.segments.length === 1 ? '' : 's'} ${t.segments.join(', ')}`, variant: t.variant }] : [])),
  ];
  return (
    <section className="card served" aria-label="Served variants" data-testid="served-variants" data-serving={serving}>
      <p data-testid="served-summary"><strong>{servingSentence({
        enabled: config.enabled, killed, variants, on_variant, off_variant, split, rolloutPercentage: config.rollout?.percentage ?? null,
      })}</strong></p>
      <p className="small">
        When on: <code data-testid="served-on">{on_variant}</code> = <code>{valueOf(on_variant)}</code> ·
        when off or killed: <code data-testid="served-off">{off_variant}</code> = <code>{valueOf(off_variant)}</code>
      </p>
      {live && special.length > 0 && (
        <p data-testid="served-rules">Before that: {special.map((x, i) => <span key={i}>{i ? '; ' : ''}{x.who} → <code>{x.variant}</code></span>)}</p>
      )}
      <p className="muted small">Variants: {variants.map((v) => v.name).join(', ')}</p>
    </section>
  );
}
