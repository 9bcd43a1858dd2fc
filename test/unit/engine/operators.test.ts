import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSemver } from '../../../src/domain/flag.js';
import { compileOperator } from '../../../src/engine/operators/index.js';
import { compareSemver, parseSemver } from '../../../src/engine/operators/semver.js';
import { compilePath } from '../../../src/engine/path.js';
import { compileFlag, evaluate } from '../../../src/engine/index.js';
import { definition } from './helpers.js';

function predicate(operator: Parameters<typeof compileOperator>[0], value: unknown) {
  const p = compileOperator(operator, value);
  if (typeof p === 'string') throw new Error(p);
  return p;
}

describe('semantic versions', () => {
  it('orders versions as semver.org §11 does', () => {
    const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.2.0', '1.10.0', '2.0.0'];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(compareSemver(parseSemver(ordered[i])!, parseSemver(ordered[j])!), `${ordered[i]} vs ${ordered[j]}`).toBe(Math.sign(i - j));
      }
    }
  });

  it('parses exactly the versions the schema accepts', () => {
    const part = fc.oneof(fc.constantFrom('0', '1', '01', '10', '999999999999999', '1234567890123456', ''), fc.nat().map(String));
    const ident = fc.stringMatching(/^[0-9A-Za-z.+-]{0,6}$/);
    const version = fc.tuple(fc.constantFrom('', 'v', 'V'), part, part, part, fc.constantFrom('', '-', '+'), ident, fc.constantFrom('', '-', '+', '!'), ident)
      .map(([v, a, b, c, s1, x, s2, y]) => `${v}${a}.${b}.${c}${s1}${x}${s2}${y}`);
    fc.assert(fc.property(fc.oneof(version, fc.string()), (s) => {
      expect(parseSemver(s) !== undefined).toBe(isSemver(s));
    }), { numRuns: 5000 });
  });

  it('compares plain versions on the fast path exactly as the full parse does', () => {
    const version = fc.tuple(fc.constantFrom('', 'v'), fc.nat(20), fc.nat(20), fc.nat(20), fc.constantFrom('', '-rc.1', '-alpha', '+b7', '-0.3+x'))
      .map(([v, a, b, c, tail]) => `${v}${a}.${b}.${c}${tail}`);
    const operator = fc.constantFrom('semver_equals', 'semver_greater_than', 'semver_less_than' as const);
    fc.assert(fc.property(version, version, operator, (expected, actual, op) => {
      const want = op === 'semver_equals' ? 0 : op === 'semver_greater_than' ? 1 : -1;
      expect(predicate(op, expected)(actual)).toBe(compareSemver(parseSemver(actual)!, parseSemver(expected)!) === want);
    }), { numRuns: 5000 });
  });

  it.each(['1.2', '01.2.3', '1.2.3.4', '', 'v', '1.2.3-', 'latest'])('refuses %j', (s) => {
    expect(parseSemver(s)).toBeUndefined();
  });
});

describe('operator values', () => {
  it.each([
    ['in', 'NL'],
    ['greater_than', '18'],
    ['before', 'last tuesday'],
    ['semver_equals', '1.2'],
    ['equals', { a: 1 }],
    ['exists', 'yes'],
  ] as const)('%s refuses %j at compile time', (operator, value) => {
    expect(typeof compileOperator(operator, value)).toBe('string');
  });
});

describe('dot paths', () => {
  it('reads own properties only, never the prototype chain', () => {
    const get = compilePath('constructor.name');
    expect(get({})).toBeUndefined();
    expect(compilePath('__proto__')({})).toBeUndefined();
    expect(compilePath('toString')({})).toBeUndefined();
  });

  it('walks arrays by index and deep paths', () => {
    expect(compilePath('items.1')({ items: ['a', 'b'] })).toBe('b');
    expect(compilePath('a.b.c.d')({ a: { b: { c: { d: 4 } } } })).toBe(4);
    expect(compilePath('a.b.c.d')({ a: { b: 'c' } })).toBeUndefined();
  });
});

describe('no operator is super-linear', () => {
  const long = 'a'.repeat(60_000);
  it.each([
    ['contains', 'a'.repeat(1000) + 'b', long],
    ['starts_with', 'a'.repeat(999) + 'b', long],
    ['ends_with', 'b' + 'a'.repeat(999), long],
    ['semver_greater_than', '1.0.0', `1.0.0-${'a.'.repeat(30_000)}!`],
    ['after', '2024-01-01', `2024-01-01T${'1'.repeat(60_000)}`],
  ] as const)('%s answers a hostile 60 kB attribute correctly, without catastrophic backtracking', (operator, value, attribute) => {
    // No timed assertion (speed is for benchmarks): a backtracking blow-up on these inputs takes
    // minutes, so this test's own timeout is what catches one.
    const test = predicate(operator, value);
    for (let i = 0; i < 20; i++) expect(test(attribute)).toBe(false);
  }, 20_000);
});

describe('served values', () => {
  it('cannot be changed by a caller, and the stored definition stays untouched', () => {
    const def = definition({ value: { limits: [1, 2] }, off_value: {} }, { type: 'json' });
    const flag = compileFlag(def);
    const first = evaluate(flag, {}, 0).value as { limits: number[] };
    expect(() => first.limits.push(3)).toThrow(TypeError);
    expect(evaluate(flag, {}, 0).value).toEqual({ limits: [1, 2] });
    (def.config.value as { limits: number[] }).limits.push(9);
    expect(evaluate(flag, {}, 0).value).toEqual({ limits: [1, 2] });
  });
});
