import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlagDefinition } from '../../../src/domain/flag.js';
import { compileFlag, evaluate, explain } from '../../../src/engine/index.js';
import { randomKeys } from './arbitraries.js';
import { referenceMurmur3 } from './helpers.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const KEYS = randomKeys(7, 10_000);
const encoder = new TextEncoder();

/** A string flag with one variant per slice (values `value-<name>`), splitting by the given weights. */
function splitFlag(key: string, slices: ReadonlyArray<readonly [string, number]>): FlagDefinition {
  const variants = slices.map(([name]) => ({ name, value: `value-${name}` }));
  return {
    key,
    type: 'string',
    environment: 'production',
    version: 1,
    config: {
      enabled: true, variants, on_variant: slices[0]![0], off_variant: slices[0]![0], rules: [], targeting: [], kill_switch: { enabled: false },
      split: slices.map(([variant, weight]) => ({ variant, weight })),
    },
  };
}

/**
 * flagd's `fractional`, written out independently of the engine: murmur3 x86 32-bit of flag key +
 * targeting key, bucket = (hash × total weight) >> 32, first slice whose cumulative weight exceeds it.
 * Weights here are whole thousandths, as a flagd document carries a Ripcord split.
 */
function flagdFractional(flagKey: string, targetingKey: string, slices: ReadonlyArray<readonly [string, number]>): string {
  const hash = BigInt(referenceMurmur3(encoder.encode(flagKey + targetingKey)));
  const total = slices.reduce((sum, [, weight]) => sum + BigInt(weight), 0n);
  const bucket = (hash * total) >> 32n;
  let end = 0n;
  for (const [variant, weight] of slices) {
    end += BigInt(weight);
    if (bucket < end) return variant;
  }
  return '';
}

/** Weights with up to three decimals adding up to exactly 100, over 1 to 6 slices. */
const weightsArb = fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 0, maxLength: 5 }).map((cuts) => {
  const ends = [...cuts, 100_000].sort((a, b) => a - b);
  return ends.map((end, i) => [`v${i}`, (end - (ends[i - 1] ?? 0)) / 1000] as const);
});

describe('weighted splits', () => {
  it('agree with flagd fractional on 2 000 keys for any split of up to six slices (weights in thousandths)', () => {
    fc.assert(
      fc.property(weightsArb, fc.string({ minLength: 1, maxLength: 12 }), (slices, flagKey) => {
        const flag = compileFlag(splitFlag(flagKey, slices));
        const whole = slices.map(([name, weight]) => [name, Math.round(weight * 1000)] as const);
        for (const key of KEYS.slice(0, 2000)) {
          expect(evaluate(flag, { targetingKey: key }, NOW).variant).toBe(flagdFractional(flagKey, key, whole));
        }
      }),
      { numRuns: 25 },
    );
  });

  it('gives every user exactly one variant with a weight, the same on every call', () => {
    fc.assert(
      fc.property(weightsArb, (slices) => {
        const flag = compileFlag(splitFlag('layout', slices));
        const weighted = new Set<string>(slices.filter(([, w]) => w > 0).map(([name]) => name));
        for (const key of KEYS.slice(0, 500)) {
          const first = evaluate(flag, { targetingKey: key }, NOW);
          expect(first.reason).toBe('SPLIT');
          expect(weighted.has(first.variant)).toBe(true);
          expect(first.value).toBe(`value-${first.variant}`);
          expect(evaluate(compileFlag(splitFlag('layout', slices)), { targetingKey: key }, NOW + 86_400_000)).toEqual(first);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('serves 50/30/20 to 10 000 users within one percentage point of each weight', () => {
    const flag = compileFlag(splitFlag('checkout-layout', [['control', 50], ['compact', 30], ['wide', 20]]));
    const counts = new Map<string, number>();
    for (const key of KEYS) {
      const { variant } = evaluate(flag, { targetingKey: key }, NOW);
      counts.set(variant, (counts.get(variant) ?? 0) + 1);
    }
    // Binomial standard deviation at n = 10 000 is at most 0.5 points: 1 point is two of them.
    expect(Math.abs(counts.get('control')! / 100 - 50)).toBeLessThan(1);
    expect(Math.abs(counts.get('compact')! / 100 - 30)).toBeLessThan(1);
    expect(Math.abs(counts.get('wide')! / 100 - 20)).toBeLessThan(1);
    expect([...counts.keys()].sort()).toEqual(['compact', 'control', 'wide']);
  });

  it('moves users only towards the variant gaining weight when weight moves between neighbours', () => {
    const before = compileFlag(splitFlag('layout', [['control', 70], ['wide', 30]]));
    const after = compileFlag(splitFlag('layout', [['control', 40], ['wide', 60]]));
    for (const key of KEYS.slice(0, 2000)) {
      const a = evaluate(before, { targetingKey: key }, NOW).variant;
      const b = evaluate(after, { targetingKey: key }, NOW).variant;
      if (a === 'wide') expect(b).toBe('wide');
    }
  });

  it('explains which slice a bucket fell in', () => {
    const flag = compileFlag(splitFlag('checkout-layout', [['control', 50], ['compact', 30], ['wide', 20]]));
    const { result, trace } = explain(flag, { targetingKey: 'alice' }, NOW);
    expect(result).toEqual({ value: 'value-compact', variant: 'compact', reason: 'SPLIT', bucket: 76558 });
    expect(trace.at(-1)).toEqual({ step: 'split', matched: true, message: "split: bucket 76558 falls in 'compact' (ends before 80000)" });
  });

  it('answers PARSE_ERROR for a stored split naming an undeclared variant, and still serves a kill', () => {
    const def = splitFlag('layout', [['control', 50], ['wide', 50]]);
    const bad = { ...def, config: { ...def.config, split: [{ variant: 'control', weight: 50 }, { variant: 'gone', weight: 50 }] } };
    expect(evaluate(compileFlag(bad), { targetingKey: 'u' }, NOW)).toMatchObject({ reason: 'ERROR', errorCode: 'PARSE_ERROR' });
    const killed = { ...bad, config: { ...bad.config, kill_switch: { enabled: true } } };
    expect(evaluate(compileFlag(killed), { targetingKey: 'u' }, NOW)).toEqual({ value: 'value-control', variant: 'control', reason: 'DISABLED', metadata: { killSwitch: true } });
  });
});
