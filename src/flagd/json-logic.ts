import type { Condition } from '../domain/flag.js';
import { parseSemver } from '../engine/operators/semver.js';

/**
 * Ripcord conditions as flagd JsonLogic, keeping Ripcord's strict typing. JsonLogic coerces (`"5" == 5`,
 * and in Python's evaluator even `true === 1`), so every operator whose Ripcord meaning depends on the
 * attribute's type is wrapped in a type test built from portable operators: `cat` turns anything into
 * a string, so `x === cat(x)` holds for strings only; `+x` turns anything into a number, so
 * `x === +x` holds for numbers and booleans, and `cat(x)` being "true"/"false" singles out booleans.
 */
export type JsonLogic = null | boolean | number | string | JsonLogic[] | { [op: string]: JsonLogic };

export const TRUE: JsonLogic = true;
export const FALSE: JsonLogic = false;

/** A condition flagd's JsonLogic can't state with Ripcord's meaning. */
export class Inexpressible extends Error {}

type Primitive = string | number | boolean;

export function and(...terms: JsonLogic[]): JsonLogic {
  const kept = terms.filter((t) => t !== TRUE);
  if (kept.includes(FALSE)) return FALSE;
  if (kept.length === 0) return TRUE;
  return kept.length === 1 ? kept[0]! : { and: kept };
}

export function or(...terms: JsonLogic[]): JsonLogic {
  const kept = terms.filter((t) => t !== FALSE);
  if (kept.includes(TRUE)) return TRUE;
  if (kept.length === 0) return FALSE;
  return kept.length === 1 ? kept[0]! : { or: kept };
}

export function not(term: JsonLogic): JsonLogic {
  if (term === TRUE) return FALSE;
  if (term === FALSE) return TRUE;
  return { '!': [term] };
}

const BOOLEAN_TEXTS = ['true', 'false', 'True', 'False'];

const isString = (x: JsonLogic): JsonLogic => ({ '===': [x, { cat: [x] }] });
const isBoolean = (x: JsonLogic): JsonLogic => and({ in: [{ cat: [x] }, BOOLEAN_TEXTS] }, { '!==': [x, { cat: [x] }] });
const isNumber = (x: JsonLogic): JsonLogic => and({ '===': [x, { '+': [x] }] }, not({ in: [{ cat: [x] }, BOOLEAN_TEXTS] }));

function isTypeOf(value: Primitive, x: JsonLogic): JsonLogic {
  return typeof value === 'string' ? isString(x) : typeof value === 'number' ? isNumber(x) : isBoolean(x);
}

/** `x` is one of these primitives, compared without coercion (grouped by type, each group type-tested). */
function oneOf(x: JsonLogic, values: readonly Primitive[]): JsonLogic {
  const groups = new Map<string, Primitive[]>();
  for (const v of values) groups.set(typeof v, [...(groups.get(typeof v) ?? []), v]);
  return or(...[...groups.values()].map((group) => {
    // A string equals only a string in every evaluator, so a list of strings needs no type test.
    const member: JsonLogic = { in: [x, group] };
    return typeof group[0] === 'string' ? member : and(isTypeOf(group[0]!, x), member);
  }));
}

/** Reads a context attribute the way the engine's compilePath does (`userId` falls back to the targeting key). */
export function attribute(field: string, environmentFallback?: string): JsonLogic {
  if (field.split('.').includes('__proto__')) return null;
  if (field === 'userId') return { var: ['userId', { var: 'targetingKey' }] };
  if (environmentFallback !== undefined && field === 'environment') return { var: ['environment', environmentFallback] };
  return { var: field };
}

const COMPARISONS = { greater_than: '>', less_than: '<', greater_or_equal: '>=', less_or_equal: '<=' } as const;
const SEMVER_OPERATORS = { semver_equals: '=', semver_greater_than: '>', semver_less_than: '<' } as const;

/** One condition as JsonLogic; throws Inexpressible when flagd can't evaluate it as Ripcord does. */
export function conditionLogic(condition: Condition, environmentFallback?: string): JsonLogic {
  const x = attribute(condition.field, environmentFallback);
  if (x === null) return FALSE; // the engine never reads `__proto__`
  const value = condition.value;
  switch (condition.operator) {
    case 'equals':
      return typeof value === 'string' ? { '===': [x, value] } : and(isTypeOf(value as Primitive, x), { '===': [x, value as Primitive] });
    case 'not_equals':
      return and(isTypeOf(value as Primitive, x), { '!==': [x, value as Primitive] });
    case 'contains':
      // A string needle: a substring of a string, or an element of an array (only strings equal strings).
      if (typeof value === 'string') return { in: [value, x] };
      // Other needles: elements of an array only, compared by type and value.
      return { some: [x, and(isTypeOf(value as Primitive, { var: '' }), { '===': [{ var: '' }, value as Primitive] })] };
    case 'in':
      return oneOf(x, value as Primitive[]);
    case 'not_in': {
      const list = value as Primitive[];
      const types: Primitive[] = list.length > 0 ? list : ['', 0, false];
      const ofListedType = or(...[...new Map(types.map((v) => [typeof v, v])).values()].map((v) => isTypeOf(v, x)));
      return list.length > 0 ? and(ofListedType, not(oneOf(x, list))) : ofListedType;
    }
    case 'greater_than':
    case 'less_than':
    case 'greater_or_equal':
    case 'less_or_equal':
      return and(isNumber(x), { [COMPARISONS[condition.operator]]: [x, value as number] });
    case 'starts_with':
      return { starts_with: [x, value as string] };
    case 'ends_with':
      return { ends_with: [x, value as string] };
    case 'exists':
      return value === false ? { '===': [x, null] } : { '!==': [x, null] };
    case 'semver_equals':
    case 'semver_greater_than':
    case 'semver_less_than': {
      // flagd also reads numbers and partial versions ("1.2" → 1.2.0) as versions; Ripcord matches strings only.
      if (!parseSemver(value)) throw new Inexpressible(`'${String(value)}' is not a semantic version`);
      return and(isString(x), { sem_ver: [x, SEMVER_OPERATORS[condition.operator], value as string] });
    }
    case 'before':
    case 'after':
      throw new Inexpressible(`${condition.operator} compares dates in the context, and flagd's JsonLogic cannot parse dates (only $flagd.timestamp, the evaluation time, is a number)`);
  }
}

/** All conditions (none: always). */
export function conditionsLogic(conditions: readonly Condition[], environmentFallback?: string): JsonLogic {
  return and(...conditions.map((c) => conditionLogic(c, environmentFallback)));
}
