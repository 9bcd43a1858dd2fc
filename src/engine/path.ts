import type { EvaluationContext } from './types.js';

/** Reads a context attribute. */
export type Getter = (context: EvaluationContext) => unknown;

const hasOwn = Object.hasOwn;

function step(target: unknown, key: string): unknown {
  // Own properties only: `constructor` or `__proto__` must not reach the prototype chain.
  return typeof target === 'object' && target !== null && hasOwn(target, key) ? (target as Record<string, unknown>)[key] : undefined;
}

/**
 * Compiles a dot path (`user.address.country`) into a getter that returns undefined for any
 * missing link. `userId` is the seed's name for the targeting key and falls back to it.
 */
export function compilePath(field: string): Getter {
  const parts = field.split('.');
  if (parts.length === 1) {
    const key = field;
    if (key === 'userId') return (c) => (hasOwn(c, 'userId') ? c.userId : c.targetingKey);
    return (c) => (hasOwn(c, key) ? c[key] : undefined);
  }
  if (parts.length === 2) {
    const [a, b] = parts as [string, string];
    return (c) => step(step(c, a), b);
  }
  return (c) => {
    let target: unknown = c;
    for (let i = 0; i < parts.length && target !== undefined; i++) target = step(target, parts[i]!);
    return target;
  };
}
