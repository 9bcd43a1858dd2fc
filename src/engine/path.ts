import type { EvaluationContext } from './types.js';

/** Reads a context attribute. */
export type Getter = (context: EvaluationContext) => unknown;

const hasOwn = Object.hasOwn;

// Attributes are JSON data, so a function can only come from the prototype chain (`constructor`,
// `toString`…): reading it as missing keeps inherited members out at the cost of one typeof,
// which is cheaper than a hasOwn check per step. `__proto__` is refused when the path is compiled.
function read(target: unknown, key: string): unknown {
  if (typeof target !== 'object' || target === null) return undefined;
  const value = (target as Record<string, unknown>)[key];
  return typeof value === 'function' ? undefined : value;
}

const missing: Getter = () => undefined;

/**
 * Compiles a dot path (`user.address.country`) into a getter that returns undefined for any
 * missing link. `userId` is an older name for the targeting key and falls back to it.
 */
export function compilePath(field: string): Getter {
  const parts = field.split('.');
  if (parts.includes('__proto__')) return missing;
  if (parts.length === 1) {
    const key = field;
    if (key === 'userId') return (c) => (hasOwn(c, 'userId') ? read(c, 'userId') : c.targetingKey);
    return (c) => read(c, key);
  }
  if (parts.length === 2) {
    const [a, b] = parts as [string, string];
    return (c) => read(read(c, a), b);
  }
  return (c) => {
    let target: unknown = c;
    for (let i = 0; i < parts.length && target !== undefined; i++) target = read(target, parts[i]!);
    return target;
  };
}
