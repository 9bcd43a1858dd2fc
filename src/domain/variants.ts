import { z } from 'zod';
import { text } from './text.js';

/**
 * Variants: the named values a flag config serves (docs/architecture.md, data model). A config
 * declares them as a list, names the one served when on (`on_variant`) and when off
 * (`off_variant`), and may split its traffic across them by weight. A config written before
 * variants existed (`value` / `off_value` only) reads as two variants, `on` and `off`.
 */

export const MAX_VARIANTS = 100;

/** The variant names a config without a `variants` list has: what evaluations always reported. */
export const LEGACY_ON = 'on';
export const LEGACY_OFF = 'off';

/** A percentage from 0 to 100 with at most three decimals (buckets are thousandths of a percent). */
export const percentageSchema = z
  .number({ error: 'a percentage: a number from 0 to 100' })
  .min(0, 'a percentage from 0 to 100: not below 0')
  .max(100, 'a percentage from 0 to 100: not above 100')
  .refine((p) => Math.abs(p * 1000 - Math.round(p * 1000)) < 1e-6, 'at most three decimals')
  .meta({ multipleOf: 0.001 });

// Names travel in URLs, metrics labels, flagd documents and SDK typings: keep them plain.
const VARIANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export const variantNameSchema = text(64)
  .min(1)
  .regex(VARIANT_NAME, 'a variant name is letters, digits, "_", "." or "-", starting with a letter or digit');

/** One declared variant: a name and a value of the flag's type. */
export function variantSchemaWith(value: z.ZodType) {
  return z.object({ name: variantNameSchema, value });
}

/** One slice of a weighted split: the variant and its share of traffic in percent. */
export const splitEntrySchema = z.object({ variant: variantNameSchema, weight: percentageSchema });
export type SplitEntry = z.infer<typeof splitEntrySchema>;

export const splitSchema = z.array(splitEntrySchema).min(1).max(MAX_VARIANTS);

/** The parts of a config that name variants, as the checks below read them. */
export interface VariantFields {
  variants?: ReadonlyArray<{ name: string; value: unknown }> | null;
  on_variant?: string | null;
  off_variant?: string | null;
  value?: unknown;
  off_value?: unknown;
  rules: ReadonlyArray<{ action: string; variant?: string | undefined }>;
  targeting: ReadonlyArray<{ variant?: string | undefined }>;
  split?: readonly SplitEntry[] | null;
  rollout?: unknown;
}

/** Weights in thousandths of a percent, so that sums are exact. */
export function thousandths(weight: number): number {
  return Math.round(weight * 1000);
}

/** JSON equality that ignores key order (PostgreSQL's jsonb reorders keys). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Every problem with the variant references of a config, as zod issues on the field at fault:
 * duplicate names, references to undeclared variants, weights that do not add up to 100, and
 * `value` / `off_value` that disagree with the variants they stand for.
 */
export function checkVariants(config: VariantFields, ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  let names: Set<string>;
  if (config.variants) {
    names = new Set();
    config.variants.forEach((v, i) => {
      if (names.has(v.name)) issue(['variants', i, 'name'], `duplicate variant name '${v.name}'`);
      names.add(v.name);
    });
    for (const [field, valueField] of [['on_variant', 'value'], ['off_variant', 'off_value']] as const) {
      const name = config[field];
      if (typeof name !== 'string') {
        issue([field], `${field} is required with variants`);
        continue;
      }
      const declared = config.variants.find((v) => v.name === name);
      if (!declared) issue([field], `unknown variant '${name}'`);
      else if (config[valueField] !== undefined && !sameJson(config[valueField], declared.value)) {
        issue([valueField], `${valueField} must equal the value of variant '${name}' (or be left out)`);
      }
    }
  } else {
    names = new Set([LEGACY_ON, LEGACY_OFF]);
    if (config.on_variant != null) issue(['on_variant'], 'on_variant needs a variants list');
    if (config.off_variant != null) issue(['off_variant'], 'off_variant needs a variants list');
    if (config.value === undefined) issue(['value'], 'value is required (or declare variants)');
    if (config.off_value === undefined) issue(['off_value'], 'off_value is required (or declare variants)');
  }
  const known = (name: string) => (names.has(name) ? undefined : `unknown variant '${name}'`);

  config.rules.forEach((rule, i) => {
    if (rule.action === 'serve') {
      if (rule.variant === undefined) issue(['rules', i, 'variant'], 'a serve rule needs a variant');
      else {
        const problem = known(rule.variant);
        if (problem) issue(['rules', i, 'variant'], problem);
      }
    } else if (rule.variant !== undefined) {
      issue(['rules', i, 'variant'], 'only serve rules take a variant');
    }
  });
  config.targeting.forEach((t, i) => {
    const problem = t.variant === undefined ? undefined : known(t.variant);
    if (problem) issue(['targeting', i, 'variant'], problem);
  });
  if (config.split) {
    const seen = new Set<string>();
    config.split.forEach((s, i) => {
      const problem = seen.has(s.variant) ? `variant '${s.variant}' appears twice in the split` : known(s.variant);
      if (problem) issue(['split', i, 'variant'], problem);
      seen.add(s.variant);
    });
    const total = config.split.reduce((sum, s) => sum + thousandths(s.weight), 0);
    if (total !== 100_000) issue(['split'], `the weights add up to ${total / 1000}, not 100`);
    if (config.rollout) issue(['split'], 'a config takes a percentage rollout or a split, not both');
  }
}

/** The variants a config serves, by name, and which are served when on and when off. */
export interface ResolvedVariants {
  variants: ReadonlyMap<string, unknown>;
  on: string;
  off: string;
}

/** Reads the variants of a config that passed checkVariants, old shape included. */
export function resolveVariants(config: VariantFields): ResolvedVariants {
  if (!config.variants) {
    return { variants: new Map([[LEGACY_ON, config.value], [LEGACY_OFF, config.off_value]]), on: LEGACY_ON, off: LEGACY_OFF };
  }
  return { variants: new Map(config.variants.map((v) => [v.name, v.value])), on: config.on_variant!, off: config.off_variant! };
}

/**
 * A config in the shape the store writes: the variants list, both variant names, and `value` /
 * `off_value` filled from them (kept for readers of the old shape: they always equal the on and off variants).
 */
export function withVariants<T extends VariantFields>(config: T): T & { variants: Array<{ name: string; value: unknown }>; on_variant: string; off_variant: string } {
  const { variants, on, off } = resolveVariants(config);
  return {
    ...config,
    variants: [...variants].map(([name, value]) => ({ name, value })),
    on_variant: on,
    off_variant: off,
    value: variants.get(on),
    off_value: variants.get(off),
  };
}
