import { conditionValueProblem, type Operator } from '../../domain/flag.js';
import { timeOf } from './date.js';
import { compareDate } from './date.js';
import { equals, exists, isIn, notEquals, notIn, type Predicate } from './equality.js';
import { compareNumber } from './numeric.js';
import { compareVersion, parseSemver } from './semver.js';
import { contains, endsWith, startsWith } from './string.js';

export type { Predicate } from './equality.js';

type Primitive = string | number | boolean;

/**
 * Compiles an operator and its condition value into a predicate over the attribute value.
 * Returns an error message instead when the value does not suit the operator.
 */
export function compileOperator(operator: Operator, value: unknown): Predicate | string {
  const problem = conditionValueProblem(operator, value);
  if (problem) return problem;
  switch (operator) {
    case 'equals':
      return equals(value as Primitive);
    case 'not_equals':
      return notEquals(value as Primitive);
    case 'contains':
      return contains(value as Primitive);
    case 'in':
      return isIn(value as Primitive[]);
    case 'not_in':
      return notIn(value as Primitive[]);
    case 'greater_than':
    case 'less_than':
    case 'greater_or_equal':
    case 'less_or_equal':
      return compareNumber(operator, value as number);
    case 'starts_with':
      return startsWith(value as string);
    case 'ends_with':
      return endsWith(value as string);
    case 'exists':
      return exists(value !== false);
    case 'semver_equals':
    case 'semver_greater_than':
    case 'semver_less_than':
      return compareVersion(operator, parseSemver(value)!);
    case 'before':
    case 'after':
      return compareDate(operator, timeOf(value));
  }
}
