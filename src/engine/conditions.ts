import type { Condition } from '../domain/flag.js';
import type { ListSegment, RuleSegment, Segment } from '../domain/segment.js';
import { compileOperator } from './operators/index.js';
import { compilePath, type Getter } from './path.js';
import type { EvaluationContext, TraceStep } from './types.js';

/** A condition compiled to a closure, keeping its source for explanations. */
export interface CompiledCondition {
  readonly source: Condition;
  readonly get: Getter;
  readonly test: (context: EvaluationContext) => boolean;
}

/** A segment resolved at compile time (or marked unknown when the flag names a missing one). */
export interface CompiledSegment {
  readonly key: string;
  readonly kind: 'rule' | 'list' | 'unknown';
  readonly conditions: readonly CompiledCondition[];
  readonly test: (context: EvaluationContext) => boolean;
}

/** A stored condition or segment the engine cannot compile. */
export class ConfigError extends Error {}

/**
 * Compiles a condition; throws on a value that does not suit its operator (compileFlag turns that
 * into an ERROR flag). `fallback` supplies attributes the context lacks (the flag's environment).
 */
export function compileCondition(condition: Condition, fallback?: Getter): CompiledCondition {
  const predicate = compileOperator(condition.operator, condition.value);
  if (typeof predicate === 'string') throw new ConfigError(`condition on '${condition.field}': ${predicate}`);
  const read = compilePath(condition.field);
  const get: Getter = fallback ? (c) => read(c) ?? fallback(c) : read;
  return { source: condition, get, test: (c) => predicate(get(c)) };
}

/** One closure testing that every condition matches (fewer calls than a loop for the usual one or two). */
export function conjunction(conditions: readonly CompiledCondition[]): (context: EvaluationContext) => boolean {
  const tests = conditions.map((c) => c.test);
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0]!;
  if (tests.length === 2) {
    const [a, b] = tests as [typeof tests[0] & {}, typeof tests[0] & {}];
    return (c) => a(c) && b(c);
  }
  return (c) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(c)) return false;
    return true;
  };
}

/** True when every condition matches; records each one in the trace when given. */
export function allMatch(conditions: readonly CompiledCondition[], test: (context: EvaluationContext) => boolean, context: EvaluationContext, trace: TraceStep[] | undefined, id: string): boolean {
  return trace ? allMatchTraced(conditions, context, trace, id) : test(context);
}

function allMatchTraced(conditions: readonly CompiledCondition[], context: EvaluationContext, trace: TraceStep[], id: string): boolean {
  for (const condition of conditions) {
    const matched = condition.test(context);
    const { field, operator, value } = condition.source;
    const expected = operator === 'exists' ? '' : ` ${show(value)}`;
    trace.push({ step: 'condition', id, matched, message: `${field} ${operator}${expected} (actual: ${show(condition.get(context))})` });
    if (!matched) return false;
  }
  return true;
}

/** A short, safe rendering of a value for explanations. */
export function show(value: unknown): string {
  if (value === undefined) return 'missing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function compileRuleSegment(segment: RuleSegment): CompiledSegment {
  const conditions = segment.conditions.map((c) => compileCondition(c));
  return { key: segment.key, kind: 'rule', conditions, test: conjunction(conditions) };
}

function compileListSegment(segment: ListSegment): CompiledSegment {
  const members = new Set(segment.members);
  return {
    key: segment.key,
    kind: 'list',
    conditions: [],
    test: (c) => typeof c.targetingKey === 'string' && members.has(c.targetingKey),
  };
}

/** Compiles a segment a targeting rule names; an unknown key compiles to one that never matches. */
export function compileSegment(key: string, segment: Segment | undefined): CompiledSegment {
  if (!segment) return { key, kind: 'unknown', conditions: [], test: () => false };
  return segment.kind === 'rule' ? compileRuleSegment(segment) : compileListSegment(segment);
}
