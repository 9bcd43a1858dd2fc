import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf, compileFlag, evaluate } from '../../../src/engine/index.js';
import { definition, referenceMurmur3 } from './helpers.js';
import { randomKeys } from './arbitraries.js';

const encoder = new TextEncoder();

/**
 * flagd's `fractional` (core/pkg/evaluator/fractional.go), written out independently: hash the
 * flag key joined with the targeting key with murmur3 x86 32-bit, read it as uint32, take
 * bucket = (hash × totalWeight) >> 32 and walk the cumulative weights.
 */
function flagdFractional(flagKey: string, targetingKey: string, distribution: ReadonlyArray<readonly [string, number]>): string {
  return distribute(BigInt(referenceMurmur3(encoder.encode(flagKey + targetingKey))), distribution);
}

function distribute(hash: bigint, distribution: ReadonlyArray<readonly [string, number]>): string {
  const total = distribution.reduce((sum, [, weight]) => sum + weight, 0);
  const bucket = (hash * BigInt(total)) >> 32n;
  let rangeEnd = 0n;
  for (const [variant, weight] of distribution) {
    rangeEnd += BigInt(weight);
    if (bucket < rangeEnd) return variant;
  }
  return '';
}

const NOW = Date.parse('2025-06-01T12:00:00Z');
const KEYS = randomKeys(42, 10_000);

describe('agreement with flagd fractional', () => {
  it('puts each of 10 000 keys in the same cohort as flagd for every whole percentage', () => {
    const hashes = KEYS.map((key) => BigInt(referenceMurmur3(encoder.encode(`new-search${key}`))));
    for (let p = 0; p <= 100; p++) {
      const flag = compileFlag(definition({ rollout: { percentage: p, strategy: 'gradual' } }, { key: 'new-search' }));
      let disagreements = 0;
      KEYS.forEach((key, i) => {
        const ours = evaluate(flag, { targetingKey: key }, NOW).value === true ? 'on' : 'off';
        if (ours !== distribute(hashes[i]!, [['on', p], ['off', 100 - p]])) disagreements++;
      });
      expect(disagreements, `at ${p}%`).toBe(0);
    }
  });

  it('agrees on multi-variant splits with whole percentages (cumulative bucket ranges)', () => {
    const split = fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 4 }).map((cuts) => {
      const sorted = [...cuts, 100].sort((a, b) => a - b);
      return sorted.map((end, i) => [`v${i}`, end - (sorted[i - 1] ?? 0)] as const);
    });
    fc.assert(
      fc.property(split, fc.string({ minLength: 1, maxLength: 12 }), (distribution, flagKey) => {
        for (const key of KEYS.slice(0, 2000)) {
          const bucket = bucketOf(flagKey, key);
          let end = 0;
          const ours = distribution.find(([, weight]) => bucket < (end += weight * 1000))?.[0] ?? '';
          expect(ours).toBe(flagdFractional(flagKey, key, distribution));
        }
      }),
      { numRuns: 30 },
    );
  });
});
