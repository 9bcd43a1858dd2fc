import { flagConfigSchemaFor, flagTypeSchema, valueSchemaFor, type FlagDefinition, type FlagRule, type FlagType } from '../domain/flag.js';
import type { Segment } from '../domain/segment.js';
import { resolveVariants, thousandths, type ResolvedVariants } from '../domain/variants.js';
import { BUCKETS, thresholdOf } from './bucketing.js';
import { compileCondition, compileSegment, ConfigError, conjunction, type CompiledCondition, type CompiledSegment } from './conditions.js';
import { buildEvaluator, type Plan } from './evaluator.js';
import type { Getter } from './path.js';
import type { CompiledFlag, EvaluationResult } from './types.js';

const EMPTY_SEGMENTS: ReadonlyMap<string, Segment> = new Map();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A served value, copied and frozen so that no caller can change what the next one receives. */
function frozenCopy(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? deepFreeze(structuredClone(value)) : value;
}

function result(value: unknown, variant: string, reason: EvaluationResult['reason'], extra?: Partial<EvaluationResult>): EvaluationResult {
  return Object.freeze({ value, variant, reason, ...extra });
}

/** A variant's served value and name; `name` must be declared (the config schema checked it). */
function served(variants: ResolvedVariants, values: ReadonlyMap<string, unknown>, name: string) {
  if (!variants.variants.has(name)) throw new ConfigError(`unknown variant '${name}'`);
  return { value: values.get(name), variant: name };
}

function compileRule(rule: FlagRule, variants: ResolvedVariants, values: ReadonlyMap<string, unknown>, environment: string) {
  // `environment` rules read environment attributes; the flag's own environment stands in when the context has none.
  const envFallback: Getter | undefined = rule.type === 'environment' ? () => environment : undefined;
  const conditions: CompiledCondition[] = rule.conditions.map((c) =>
    compileCondition(c, envFallback && c.field === 'environment' ? envFallback : undefined),
  );
  const serves =
    rule.action === 'enable' ? served(variants, values, variants.on)
      : rule.action === 'disable' ? served(variants, values, variants.off)
        : rule.action === 'serve' ? served(variants, values, rule.variant!)
          : { value: frozenCopy(rule.value), variant: rule.id }; // override_value: the shape before variants
  return {
    id: rule.id,
    conditions,
    matches: conjunction(conditions),
    threshold: rule.type === 'percentage' ? thresholdOf(rule.percentage ?? 0) : -1,
    value: serves.value,
    variant: serves.variant,
    result: result(serves.value, serves.variant, 'TARGETING_MATCH', { ruleId: rule.id }),
  };
}

/**
 * A flag whose stored config could not be compiled: it answers ERROR to everyone, except that a
 * kill switch that is readable still serves a readable off_value (a kill must never fail open).
 */
function errorFlag(def: FlagDefinition, message: string, code: 'PARSE_ERROR' | 'GENERAL'): CompiledFlag {
  const raw = (typeof def.config === 'object' && def.config !== null ? def.config : {}) as Partial<FlagDefinition['config']>;
  const typeKnown = flagTypeSchema.safeParse(def.type).success;
  const offServed = readableOff(raw);
  const killedOff = typeKnown && raw.kill_switch?.enabled === true && offServed !== undefined && valueSchemaFor(def.type).safeParse(offServed.value).success;
  const answer = killedOff
    ? result(frozenCopy(offServed.value), offServed.variant, 'DISABLED', { metadata: Object.freeze({ killSwitch: true }) })
    : result(undefined, 'error', 'ERROR', { errorCode: code, errorMessage: message });
  const flag: CompiledFlag = {
    key: String(def.key),
    type: def.type,
    version: typeof def.version === 'number' ? def.version : 0,
    environment: String(def.environment),
    compileError: message,
    offVariant: offServed?.variant ?? 'off',
    constant: answer,
    run: (_c, _n, trace) => {
      trace?.push({ step: 'error', matched: true, message });
      if (killedOff) trace?.push({ step: 'kill_switch', matched: true, message: 'the kill switch is on: serving off_value' });
      return answer;
    },
  };
  return Object.freeze(flag);
}

/** The off variant of a config that failed to parse, when it can still be read: the declared one, else `off_value`. */
function readableOff(raw: Partial<FlagDefinition['config']>): { value: unknown; variant: string } | undefined {
  if (Array.isArray(raw.variants)) {
    const found = raw.variants.find((v) => typeof v === 'object' && v !== null && v.name === raw.off_variant);
    return found ? { value: found.value, variant: found.name } : undefined;
  }
  return raw.off_value === undefined ? undefined : { value: raw.off_value, variant: 'off' };
}

function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * The answer of a plan that gives every context the same one at any time, or undefined: killed,
 * disabled, or on with nothing but an unscheduled rollout of 0 % or 100 %.
 */
function constantOf(plan: Plan): EvaluationResult | undefined {
  if (plan.killed) return plan.results.killed;
  if (!plan.enabled) return plan.results.disabled;
  if (plan.rules.length > 0 || plan.targeting.length > 0 || plan.split) return undefined;
  const rollout = plan.rollout;
  if (!rollout) return plan.results.static;
  if (rollout.scheduled) return undefined;
  if (rollout.threshold <= 0) return plan.results.outsideWindow;
  if (rollout.threshold >= BUCKETS) return result(plan.on.value, plan.on.variant, 'SPLIT');
  return undefined;
}

/** Compiles a flag definition into closures; never throws (an invalid config answers ERROR / PARSE_ERROR). */
export function compileFlag(def: FlagDefinition, segments: ReadonlyMap<string, Segment> = EMPTY_SEGMENTS): CompiledFlag {
  try {
    if (!flagTypeSchema.safeParse(def.type).success) return errorFlag(def, `unknown flag type '${String(def.type)}'`, 'PARSE_ERROR');
    const parsed = flagConfigSchemaFor(def.type as FlagType).safeParse(def.config);
    if (!parsed.success) return errorFlag(def, `invalid config: ${describeIssues(parsed.error.issues)}`, 'PARSE_ERROR');
    const config = parsed.data;
    const variants = resolveVariants(config);
    const values = new Map([...variants.variants].map(([name, value]) => [name, frozenCopy(value)]));
    const on = values.get(variants.on);
    const off = values.get(variants.off);
    const rules = [...config.rules]
      .sort((a, b) => a.priority - b.priority) // stable: equal priorities keep their written order
      .map((rule) => compileRule(rule, variants, values, def.environment));
    const targeting = config.targeting
      .map((t, i) => ({ t, id: t.id ?? `targeting-${i}` }))
      .filter(({ t }) => t.enabled)
      .map(({ t, id }) => ({
        id,
        threshold: thresholdOf(t.percentage),
        inside: served(variants, values, t.variant ?? variants.on),
        segments: t.segments.map((key): CompiledSegment => compileSegment(key, segments.get(key))),
      }));
    // Cumulative ends in buckets: a user whose bucket is below a slice's end (and not an earlier one's) gets it.
    let end = 0;
    const split = config.split?.map((s) => ({ ...served(variants, values, s.variant), end: (end += thousandths(s.weight)) }));
    const rollout = config.rollout
      ? {
        threshold: thresholdOf(config.rollout.percentage),
        scheduled: config.rollout.strategy === 'scheduled',
        start: config.rollout.start_date ? Date.parse(config.rollout.start_date) : Number.NEGATIVE_INFINITY,
        end: config.rollout.end_date ? Date.parse(config.rollout.end_date) : Number.POSITIVE_INFINITY,
      }
      : undefined;
    const plan: Plan = {
      key: def.key,
      killed: config.kill_switch.enabled,
      enabled: config.enabled,
      on: { value: on, variant: variants.on },
      off: { value: off, variant: variants.off },
      rules,
      targeting,
      rollout,
      split,
      bucketing: config.bucketing,
      results: {
        killed: result(off, variants.off, 'DISABLED', { metadata: Object.freeze({ killSwitch: true }) }),
        disabled: result(off, variants.off, 'DISABLED'),
        static: result(on, variants.on, 'STATIC'),
        outsideWindow: result(off, variants.off, 'DEFAULT'),
      },
    };
    return Object.freeze({
      key: def.key, type: def.type, version: def.version, environment: def.environment, offVariant: variants.off, constant: constantOf(plan), run: buildEvaluator(plan),
    });
  } catch (error) {
    if (error instanceof ConfigError) return errorFlag(def, `invalid config: ${error.message}`, 'PARSE_ERROR');
    return errorFlag(def, `cannot compile: ${error instanceof Error ? error.message : String(error)}`, 'GENERAL');
  }
}
