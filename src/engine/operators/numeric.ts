import type { Predicate } from './equality.js';

/** Numeric comparison of a number attribute (NaN and non-numbers never match). */
export function compareNumber(operator: 'greater_than' | 'less_than' | 'greater_or_equal' | 'less_or_equal', expected: number): Predicate {
  switch (operator) {
    case 'greater_than':
      return (actual) => typeof actual === 'number' && actual > expected;
    case 'less_than':
      return (actual) => typeof actual === 'number' && actual < expected;
    case 'greater_or_equal':
      return (actual) => typeof actual === 'number' && actual >= expected;
    case 'less_or_equal':
      return (actual) => typeof actual === 'number' && actual <= expected;
  }
}
