import { flagConfigSchemaFor, flagTypeSchema, valueSchemaFor, type FlagDefinition, type FlagRule, type FlagType } from '../domain/flag.js';
import type { Segment } from '../domain/segment.js';
import { thresholdOf } from './bucketing.js';
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

function compileRule(rule: FlagRule, on: unknown, off: unknown, environment: string) {
  // `environment` rules read environment attributes; the flag's own environment stands in when the context has none.
  const envFallback: Getter | undefined = rule.type === 'environment' ? () => environment : undefined;
  const conditions: CompiledCondition[] = rule.conditions.map((c) =>
    compileCondition(c, envFallback && c.field === 'environment' ? envFallback : undefined),
  );
  const served =
    rule.action === 'enable' ? { value: on, variant: 'on' }
      : rule.action === 'disable' ? { value: off, variant: 'off' }
        : { value: frozenCopy(rule.value), variant: rule.id };
  return {
    id: rule.id,
    conditions,
    matches: conjunction(conditions),
    threshold: rule.type === 'percentage' ? thresholdOf(rule.percentage ?? 0) : -1,
    value: served.value,
    variant: served.variant,
    result: result(served.value, served.variant, 'TARGETING_MATCH', { ruleId: rule.id }),
  };
}

/**
 * A flag whose stored config could not be compiled: it answers ERROR to everyone, except that a
 * kill switch that is readable still serves a readable off_value (a kill must never fail open).
 */
function errorFlag(def: FlagDefinition, message: string, code: 'PARSE_ERROR' | 'GENERAL'): CompiledFlag {
  const raw = (typeof def.config === 'object' && def.config !== null ? def.config : {}) as Partial<FlagDefinition['config']>;
  const typeKnown = flagTypeSchema.safeParse(def.type).success;
  const killedOff = typeKnown && raw.kill_switch?.enabled === true && valueSchemaFor(def.type).safeParse(raw.off_value).success;
  const answer = killedOff
    ? result(frozenCopy(raw.off_value), 'off', 'DISABLED', { metadata: Object.freeze({ killSwitch: true }) })
    : result(undefined, 'error', 'ERROR', { errorCode: code, errorMessage: message });
  const flag: CompiledFlag = {
    key: String(def.key),
    type: def.type,
    version: typeof def.version === 'number' ? def.version : 0,
    environment: String(def.environment),
    compileError: message,
    run: (_c, _n, trace) => {
      trace?.push({ step: 'error', matched: true, message });
      if (killedOff) trace?.push({ step: 'kill_switch', matched: true, message: 'the kill switch is on: serving off_value' });
      return answer;
    },
  };
  return Object.freeze(flag);
}

function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** Compiles a flag definition into closures; never throws (an invalid config answers ERROR / PARSE_ERROR). */
export function compileFlag(def: FlagDefinition, segments: ReadonlyMap<string, Segment> = EMPTY_SEGMENTS): CompiledFlag {
  try {
    if (!flagTypeSchema.safeParse(def.type).success) return errorFlag(def, `unknown flag type '${String(def.type)}'`, 'PARSE_ERROR');
    const parsed = flagConfigSchemaFor(def.type as FlagType).safeParse(def.config);
    if (!parsed.success) return errorFlag(def, `invalid config: ${describeIssues(parsed.error.issues)}`, 'PARSE_ERROR');
    const config = parsed.data;
    const on = frozenCopy(config.value);
    const off = frozenCopy(config.off_value);
    const rules = [...config.rules]
      .sort((a, b) => a.priority - b.priority) // stable: equal priorities keep their written order
      .map((rule) => compileRule(rule, on, off, def.environment));
    const targeting = config.targeting
      .map((t, i) => ({ t, id: t.id ?? `targeting-${i}` }))
      .filter(({ t }) => t.enabled)
      .map(({ t, id }) => ({
        id,
        threshold: thresholdOf(t.percentage),
        segments: t.segments.map((key): CompiledSegment => compileSegment(key, segments.get(key))),
      }));
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
      on,
      off,
      rules,
      targeting,
      rollout,
      results: {
        killed: result(off, 'off', 'DISABLED', { metadata: Object.freeze({ killSwitch: true }) }),
        disabled: result(off, 'off', 'DISABLED'),
        static: result(on, 'on', 'STATIC'),
        outsideWindow: result(off, 'off', 'DEFAULT'),
      },
    };
    return Object.freeze({ key: def.key, type: def.type, version: def.version, environment: def.environment, run: buildEvaluator(plan) });
  } catch (error) {
    if (error instanceof ConfigError) return errorFlag(def, `invalid config: ${error.message}`, 'PARSE_ERROR');
    return errorFlag(def, `cannot compile: ${error instanceof Error ? error.message : String(error)}`, 'GENERAL');
  }
}
