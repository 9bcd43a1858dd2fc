import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyGrowth, growthExponent } from '../../bench/scale/growth.js';

const sizes = [100, 1_000, 10_000];

describe('growth of a cost with size (bench:scale verdicts)', () => {
  it('recovers the exponent of an exact power law', () => {
    fc.assert(fc.property(fc.double({ min: -1, max: 3, noNaN: true }), fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (k, c) => {
      const fitted = growthExponent(sizes.map((size) => ({ size, cost: c * size ** k })));
      expect(fitted).toBeCloseTo(k, 6);
    }));
  });

  it('names the bands', () => {
    const verdict = (k: number) => classifyGrowth(growthExponent(sizes.map((size) => ({ size, cost: size ** k }))));
    expect(verdict(0)).toBe('flat');
    expect(verdict(0.5)).toBe('sub-linear');
    expect(verdict(1)).toBe('linear');
    expect(verdict(2)).toBe('super-linear');
  });

  it('gives no verdict without two usable points', () => {
    expect(growthExponent([{ size: 100, cost: 5 }])).toBeUndefined();
    expect(growthExponent([{ size: 100, cost: 0 }, { size: 1_000, cost: Number.NaN }])).toBeUndefined();
    expect(classifyGrowth(undefined)).toBe('n/a');
  });
});
