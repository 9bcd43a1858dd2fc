import { parseIsoDate } from '../../domain/flag.js';
import type { Predicate } from './equality.js';

/** An attribute as epoch milliseconds: an ISO 8601 string or a finite number; NaN otherwise. */
export function timeOf(actual: unknown): number {
  if (typeof actual === 'number') return Number.isFinite(actual) ? actual : Number.NaN;
  if (typeof actual === 'string') return parseIsoDate(actual);
  return Number.NaN;
}

/** `before` / `after`: the attribute's instant is strictly earlier / later than the condition's. */
export function compareDate(operator: 'before' | 'after', expected: number): Predicate {
  // NaN compares false either way, so a non-date never matches.
  return operator === 'before' ? (actual) => timeOf(actual) < expected : (actual) => timeOf(actual) > expected;
}
