import { z } from 'zod';
import { bucketingSchema, checkBucketing } from './bucketing.js';
import { jsonValueSchema, text } from './text.js';
import { checkVariants, MAX_VARIANTS, percentageSchema, splitSchema, variantNameSchema, variantSchemaWith, withVariants } from './variants.js';

export { percentageSchema } from './variants.js';

/** The type of the values a flag serves. */
export const flagTypeSchema = z.enum(['boolean', 'string', 'number', 'json']);
export type FlagType = z.infer<typeof flagTypeSchema>;

/** Every operator a condition may use (docs/architecture.md §5). */
export const operatorSchema = z.enum([
  'equals', 'not_equals', 'contains', 'in', 'not_in',
  'greater_than', 'less_than', 'greater_or_equal', 'less_or_equal',
  'starts_with', 'ends_with', 'exists',
  'semver_equals', 'semver_greater_than', 'semver_less_than',
  'before', 'after',
]);
export type Operator = z.infer<typeof operatorSchema>;

// Bounds keep every operator linear in small inputs and every stored config small.
const MAX_STRING = 1024;
const MAX_LIST = 10_000;
const MAX_CONDITIONS = 50;
const MAX_RULES = 200;

// Numbers of at most 15 digits compare exactly as doubles. The engine's parseSemver accepts the same set.
const SEMVER = /^v?(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
// ISO 8601 calendar date with optional time and offset; no nested quantifiers, so linear.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Epoch milliseconds of an ISO 8601 date or date-time, NaN when `s` is not one. A date-time
 * without an offset is read as UTC (JavaScript would read it in the machine's zone).
 */
export function parseIsoDate(s: string): number {
  if (s.length > 40) return Number.NaN;
  const m = ISO_DATE.exec(s);
  if (!m) return Number.NaN;
  return Date.parse(s.length > 10 && m[1] === undefined ? `${s}Z` : s);
}

/** True when `s` is an ISO 8601 date or date-time. */
export function isIsoDate(s: string): boolean {
  return !Number.isNaN(parseIsoDate(s));
}

/** True when `s` is a semantic version (an optional leading `v` is allowed). */
export function isSemver(s: string): boolean {
  return s.length <= 256 && SEMVER.test(s);
}

const primitive = z.union([text(MAX_STRING), z.number(), z.boolean()]);

/**
 * A condition: `field` is a dot path into the context. The value's shape depends on the operator
 * and is checked here so that a bad condition is refused when written, not discovered at evaluation.
 */
export const conditionSchema = z
  .object({
    field: text(256).min(1),
    operator: operatorSchema,
    value: z.unknown().optional(),
  })
  .superRefine((c, ctx) => {
    const problem = conditionValueProblem(c.operator, c.value);
    if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
  })
  .meta({ anyOf: valueByOperatorJsonSchema() });
export type Condition = z.infer<typeof conditionSchema>;

/**
 * The value each operator takes (what conditionValueProblem checks), as JSON Schema for the OpenAPI
 * document, so that a generated client (or fuzzer) can write a condition the API accepts.
 */
function valueByOperatorJsonSchema() {
  const primitiveJson = { type: ['string', 'number', 'boolean'] };
  const groups: Array<[Operator[], Record<string, unknown>]> = [
    [['equals', 'not_equals', 'contains'], primitiveJson],
    [['in', 'not_in'], { type: 'array', maxItems: MAX_LIST, items: primitiveJson }],
    [['greater_than', 'less_than', 'greater_or_equal', 'less_or_equal'], { type: 'number' }],
    [['starts_with', 'ends_with'], { type: 'string', maxLength: MAX_STRING }],
    [['semver_equals', 'semver_greater_than', 'semver_less_than'], { type: 'string', pattern: SEMVER.source }],
    [['before', 'after'], { type: 'string', format: 'date-time' }],
  ];
  return [
    ...groups.map(([operators, value]) => ({ properties: { operator: { enum: operators }, value }, required: ['value'] })),
    { properties: { operator: { const: 'exists' }, value: { type: 'boolean' } } },
  ];
}

/** Why a condition value does not suit its operator, or undefined when it does. */
export function conditionValueProblem(operator: Operator, value: unknown): string | undefined {
  switch (operator) {
    case 'equals':
    case 'not_equals':
    case 'contains':
      return primitive.safeParse(value).success ? undefined : `${operator} needs a string, number or boolean`;
    case 'in':
    case 'not_in':
      return Array.isArray(value) && value.length <= MAX_LIST && value.every((v) => primitive.safeParse(v).success)
        ? undefined
        : `${operator} needs an array of at most ${MAX_LIST} strings, numbers or booleans`;
    case 'greater_than':
    case 'less_than':
    case 'greater_or_equal':
    case 'less_or_equal':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `${operator} needs a finite number`;
    case 'starts_with':
    case 'ends_with':
      return typeof value === 'string' && value.length <= MAX_STRING ? undefined : `${operator} needs a string`;
    case 'exists':
      return value === undefined || typeof value === 'boolean' ? undefined : 'exists takes true, false or no value';
    case 'semver_equals':
    case 'semver_greater_than':
    case 'semver_less_than':
      return typeof value === 'string' && isSemver(value) ? undefined : `${operator} needs a semantic version such as 1.2.3`;
    case 'before':
    case 'after':
      return typeof value === 'string' && isIsoDate(value) ? undefined : `${operator} needs an ISO 8601 date`;
  }
}

const isoDateTime = z.iso.datetime({ offset: true });

export const rolloutSchema = z
  .object({
    percentage: percentageSchema,
    strategy: z.enum(['gradual', 'immediate', 'scheduled']),
    start_date: isoDateTime.nullish(),
    end_date: isoDateTime.nullish(),
  })
  .superRefine((r, ctx) => {
    if (r.strategy === 'scheduled' && !r.start_date) {
      ctx.addIssue({ code: 'custom', path: ['start_date'], message: 'a scheduled rollout needs a start_date' });
    }
    if (r.start_date && r.end_date && Date.parse(r.end_date) <= Date.parse(r.start_date)) {
      ctx.addIssue({ code: 'custom', path: ['end_date'], message: 'end_date must be after start_date' });
    }
  });
export type Rollout = z.infer<typeof rolloutSchema>;

export const killSwitchSchema = z.object({
  enabled: z.boolean(),
  reason: text(500).nullish(),
  triggered_by: text(256).nullish(),
  triggered_at: text(64).nullish(),
});
export type KillSwitch = z.infer<typeof killSwitchSchema>;

/**
 * A rule. `percentage` belongs to rules of type `percentage` (and only to them): such a rule
 * matches when all its conditions match (often none) and the user's bucket is below it. A matching
 * rule serves the on variant (`enable`), the off variant (`disable`), a named variant (`serve`,
 * with `variant`), or its own inline value (`override_value`, the shape before variants; its
 * variant name is the rule's id).
 */
function ruleSchemaWith(value: z.ZodType) {
  return z
    .object({
      id: text(128).min(1),
      type: z.enum(['user_attribute', 'environment', 'percentage', 'custom']),
      conditions: z.array(conditionSchema).max(MAX_CONDITIONS).default([]),
      action: z.enum(['enable', 'disable', 'override_value', 'serve']),
      value: value.optional(),
      variant: variantNameSchema.optional(),
      priority: z.number().int(),
      percentage: percentageSchema.optional(),
    })
    .superRefine((r, ctx) => {
      if (r.action === 'override_value' && r.value === undefined) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: 'override_value needs a value' });
      }
      if (r.type === 'percentage' && r.percentage === undefined) {
        ctx.addIssue({ code: 'custom', path: ['percentage'], message: 'a percentage rule needs a percentage' });
      }
      if (r.type !== 'percentage' && r.percentage !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['percentage'], message: 'only percentage rules take a percentage' });
      }
    });
}

export const flagRuleSchema = ruleSchemaWith(z.unknown());
export type FlagRule = z.infer<typeof flagRuleSchema>;

export const targetingRuleSchema = z.object({
  id: text(128).min(1).optional(),
  segments: z.array(text(128).min(1)).min(1).max(100),
  percentage: percentageSchema.default(100),
  enabled: z.boolean().default(true),
  /** Served to the users of the segments inside the percentage; the on variant when absent. */
  variant: variantNameSchema.optional(),
});
export type TargetingRule = z.infer<typeof targetingRuleSchema>;

const VALUE_SCHEMAS: Record<FlagType, z.ZodType> = {
  boolean: z.boolean(),
  string: text(64 * 1024),
  number: z.number(),
  json: jsonValueSchema,
};

/** The schema of a value served by a flag of this type. */
export function valueSchemaFor(type: FlagType): z.ZodType {
  return VALUE_SCHEMAS[type];
}

/**
 * The fields of a config. Either `variants` with `on_variant` and `off_variant` (then `value` and
 * `off_value` may be left out: they are the values of those two), or only `value` and `off_value`,
 * the shape before variants, which reads as variants `on` and `off` (src/domain/variants.ts).
 */
function configFieldsWith(value: z.ZodType) {
  return {
    enabled: z.boolean(),
    variants: z.array(variantSchemaWith(value)).min(1).max(MAX_VARIANTS).nullish()
      .meta({ description: 'the named values this config serves (unique names); without it, value and off_value are variants `on` and `off`' }),
    on_variant: variantNameSchema.nullish().meta({ description: 'the variant served when on (required with variants)' }),
    off_variant: variantNameSchema.nullish().meta({ description: 'the variant served when off or killed (required with variants)' }),
    value: value.optional().meta({ description: 'the value served when on; with variants, the on variant\'s value (may be left out)' }),
    off_value: value.optional().meta({ description: 'the value served when off; with variants, the off variant\'s value (may be left out)' }),
    rules: z.array(ruleSchemaWith(value)).max(MAX_RULES).default([]),
    targeting: z.array(targetingRuleSchema).max(MAX_RULES).default([]),
    rollout: rolloutSchema.nullish(),
    /** Traffic split across variants by weight (percent, adding up to 100), after rules and targeting. */
    split: splitSchema.nullish().meta({ description: 'sticky weighted split across variants after rules and targeting: [{variant, weight}], weights in percent adding up to 100; not with rollout' }),
    bucketing: bucketingSchema.nullish(),
  };
}

function checkConfig(config: Parameters<typeof checkVariants>[0] & { rules: Array<{ id: string }> }, ctx: z.RefinementCtx) {
  uniqueRuleIds(config, ctx);
  checkVariants(config, ctx);
}

function uniqueRuleIds(config: { rules: Array<{ id: string }> }, ctx: z.RefinementCtx) {
  const seen = new Set<string>();
  config.rules.forEach((rule, i) => {
    if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id '${rule.id}'` });
    seen.add(rule.id);
  });
}

const inputSchemas = new Map<FlagType, ReturnType<typeof buildInputSchema>>();

/** The PUT body of a flag's config in one environment, with every value checked against the flag type. */
export function flagConfigInputSchemaFor(type: FlagType) {
  let schema = inputSchemas.get(type);
  if (!schema) {
    schema = buildInputSchema(type);
    inputSchemas.set(type, schema);
  }
  return schema;
}

function buildInputSchema(type: FlagType) {
  // Whole percentages with Unleash's bucketing are asked of what is written, not of what is stored: a
  // stored config never stops compiling (a rollout step's 2.5 % buckets as 3 % there).
  return z.object(configFieldsWith(valueSchemaFor(type))).superRefine(checkConfig).superRefine(checkBucketing).transform(withVariants);
}
export type FlagConfigInput = z.infer<ReturnType<typeof buildInputSchema>>;

/** The stored config of a flag in one environment (structure only; values are checked per type when compiled). */
export const flagConfigSchema = z
  .object({ ...configFieldsWith(z.unknown()), kill_switch: killSwitchSchema.default({ enabled: false }) })
  .superRefine(checkConfig);
export type FlagConfig = z.infer<typeof flagConfigSchema>;

function buildStoredSchema(type: FlagType) {
  return z
    .object({ ...configFieldsWith(valueSchemaFor(type)), kill_switch: killSwitchSchema.default({ enabled: false }) })
    .superRefine(checkConfig);
}

const storedSchemas = new Map<FlagType, ReturnType<typeof buildStoredSchema>>();

/** The stored config, with values checked against the flag type (what the engine compiles). */
export function flagConfigSchemaFor(type: FlagType) {
  let schema = storedSchemas.get(type);
  if (!schema) {
    schema = buildStoredSchema(type);
    storedSchemas.set(type, schema);
  }
  return schema;
}

/** What the projection stores and the engine compiles: one flag in one environment at one version. */
export const flagDefinitionSchema = z.object({
  key: z.string().min(1),
  type: flagTypeSchema,
  environment: z.string().min(1),
  version: z.number().int().nonnegative(),
  config: flagConfigSchema,
  /** A tombstone: the flag was archived at this version, so serving drops it (FLAG_NOT_FOUND). */
  archived: z.literal(true).optional(),
});
export type FlagDefinition = z.infer<typeof flagDefinitionSchema>;

const DEFAULT_VALUES: Record<FlagType, { value: unknown; off_value: unknown }> = {
  boolean: { value: true, off_value: false },
  string: { value: '', off_value: '' },
  number: { value: 0, off_value: 0 },
  json: { value: {}, off_value: {} },
};

/** The config of a fresh flag in an environment: off, variants `on` and `off`, no rules, kill switch off. */
export function defaultConfigFor(type: FlagType): FlagConfig {
  const { value, off_value } = DEFAULT_VALUES[type];
  return {
    enabled: false,
    variants: [{ name: 'on', value: structuredClone(value) }, { name: 'off', value: structuredClone(off_value) }],
    on_variant: 'on',
    off_variant: 'off',
    value: structuredClone(value),
    off_value: structuredClone(off_value),
    rules: [],
    targeting: [],
    kill_switch: { enabled: false },
  };
}
