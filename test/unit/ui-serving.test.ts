import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultSplitWeights, servingSentence, type ServingFacts } from '../../ui/src/serving.js';

/** The admin UI's serving summary and a split rollout's default steps (ui/src/serving.ts). */

const base: ServingFacts = {
  enabled: true, killed: false, variants: [{ name: 'control', value: 'a' }, { name: 'treatment', value: 'b' }, { name: 'off', value: false }],
  on_variant: 'control', off_variant: 'off', split: null, rolloutPercentage: null,
};
const thousandths = (w: Record<string, number>) => Object.values(w).reduce((sum, x) => sum + Math.round(x * 1000), 0);

describe('serving summary', () => {
  it('says who gets what, in plain words, right for a split', () => {
    expect(servingSentence({ ...base, killed: true, split: [{ variant: 'control', weight: 50 }, { variant: 'treatment', weight: 50 }] })).toBe('Killed: everyone gets off (false).');
    expect(servingSentence({ ...base, enabled: false })).toBe('Off: everyone gets off (false).');
    expect(servingSentence({ ...base, split: [{ variant: 'control', weight: 50 }, { variant: 'treatment', weight: 50 }] })).toBe('On: 50 % control, 50 % treatment.');
    expect(servingSentence({ ...base, rolloutPercentage: 10 })).toBe('On for 10 %: they get control ("a"), the rest off (false).');
    expect(servingSentence({ ...base, rolloutPercentage: 100 })).toBe('On: everyone gets control ("a").');
    expect(servingSentence(base)).toBe('On: everyone gets control ("a").');
  });
});

describe('a split rollout’s default steps', () => {
  const order = ['control', 'treatment', 'off'];

  it('without a split yet: 10 % then 50 % from the off variant to the first', () => {
    expect(defaultSplitWeights(order, null)).toEqual([{ control: 10, off: 90 }, { control: 50, off: 50 }]);
    expect(defaultSplitWeights(['only'], null)).toEqual([{ only: 100 }]);
    expect(defaultSplitWeights([], null)).toEqual([{}]);
    // A split naming a variant the form does not know is not a starting point.
    expect(defaultSplitWeights(order, [{ variant: 'gone', weight: 100 }])).toEqual([{ control: 10, off: 90 }, { control: 50, off: 50 }]);
  });

  it('from the split served now: the off variant’s share moves to the first in two steps, the others keep theirs', () => {
    expect(defaultSplitWeights(order, [{ variant: 'control', weight: 50 }, { variant: 'off', weight: 50 }]))
      .toEqual([{ control: 75, treatment: 0, off: 25 }, { control: 100, treatment: 0, off: 0 }]);
    expect(defaultSplitWeights(order, [{ variant: 'control', weight: 40 }, { variant: 'treatment', weight: 60 }]))
      .toEqual([{ control: 40, treatment: 60, off: 0 }]);
  });

  it('every step adds up to 100, starts from the current split and never gives the off variant more (property)', () => {
    const split = fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 3, maxLength: 3 })
      .filter((w) => w.some((x) => x > 0))
      .map((w) => {
        const sum = w.reduce((a, b) => a + b, 0);
        const parts = w.map((x) => Math.floor((x * 100_000) / sum));
        parts[0]! += 100_000 - parts.reduce((a, b) => a + b, 0);
        return order.map((variant, i) => ({ variant, weight: parts[i]! / 1000 })).filter((e) => e.weight > 0);
      });
    fc.assert(fc.property(split, (current) => {
      const steps = defaultSplitWeights(order, current);
      const offNow = current.find((e) => e.variant === 'off')?.weight ?? 0;
      let previousOff = offNow;
      for (const step of steps) {
        expect(thousandths(step)).toBe(100_000);
        expect(step.off!).toBeLessThanOrEqual(previousOff);
        expect(step.treatment ?? 0).toBe(current.find((e) => e.variant === 'treatment')?.weight ?? 0);
        previousOff = step.off!;
      }
      expect(steps.at(-1)!.off).toBe(0);
    }));
  });
});
