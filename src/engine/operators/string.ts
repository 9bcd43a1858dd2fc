import type { Predicate } from './equality.js';

/** `contains`: a string attribute containing the string, or an array attribute holding the value. */
export function contains(expected: string | number | boolean): Predicate {
  const needle = typeof expected === 'string' ? expected : undefined;
  return (actual) => {
    if (typeof actual === 'string') return needle !== undefined && actual.includes(needle);
    return Array.isArray(actual) && actual.includes(expected);
  };
}

/** `starts_with`: a string attribute with this prefix. */
export function startsWith(prefix: string): Predicate {
  return (actual) => typeof actual === 'string' && actual.startsWith(prefix);
}

/** `ends_with`: a string attribute with this suffix. */
export function endsWith(suffix: string): Predicate {
  return (actual) => typeof actual === 'string' && actual.endsWith(suffix);
}
