/** Tests an attribute value; false on a missing attribute or a type mismatch, never throws. */
export type Predicate = (actual: unknown) => boolean;

type Primitive = string | number | boolean;

/** `equals`: same type and same value (no coercion: "5" is not 5). */
export function equals(expected: Primitive): Predicate {
  return (actual) => actual === expected;
}

/** `not_equals`: an attribute of the same type with another value. */
export function notEquals(expected: Primitive): Predicate {
  const type = typeof expected;
  return (actual) => typeof actual === type && actual !== expected;
}

/** `in`: the attribute is one of the listed values (a set lookup, constant time). */
export function isIn(list: readonly Primitive[]): Predicate {
  const set = new Set<unknown>(list);
  return (actual) => set.has(actual);
}

/** `not_in`: an attribute of a type the list holds that is none of its values (any primitive for an empty list). */
export function notIn(list: readonly Primitive[]): Predicate {
  const set = new Set<unknown>(list);
  const types = new Set<string>(list.length > 0 ? list.map((v) => typeof v) : ['string', 'number', 'boolean']);
  return (actual) => types.has(typeof actual) && !set.has(actual);
}

/** `exists`: the attribute is present and not null (or, with `false`, absent or null). */
export function exists(expected: boolean): Predicate {
  return expected ? (actual) => actual !== undefined && actual !== null : (actual) => actual === undefined || actual === null;
}
