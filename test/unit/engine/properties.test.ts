import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFlag, evaluate, explain, type EvaluationContext } from '../../../src/engine/index.js';
import { configArb, contextArb, definitionArb, nowArb, percentageArb, randomKeys, segments } from './arbitraries.js';
import { definition } from './helpers.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const REASONS = ['STATIC', 'DEFAULT', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'ERROR'];

describe('evaluation properties', () => {
  it('is deterministic: the same flag, context and time give the same result, even recompiled', () => {
    fc.assert(
      fc.property(definitionArb, contextArb, nowArb, (def, context, now) => {
        const a = evaluate(compileFlag(def, segments), context, now);
        const b = evaluate(compileFlag(structuredClone(def), segments), context, now);
        expect(b).toEqual(a);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws and always answers a known reason, for any context', () => {
    const def = definition({ rules: [], targeting: [{ segments: ['pros', 'vips'], percentage: 50, enabled: true }], rollout: { percentage: 50, strategy: 'gradual' } });
    fc.assert(
      fc.property(definitionArb, fc.oneof(contextArb, fc.anything({ withNullPrototype: true, withMap: true, withSet: true, withBigInt: true, withDate: true })), nowArb, (d, context, now) => {
        for (const flag of [compileFlag(d, segments), compileFlag(def, segments)]) {
          const result = evaluate(flag, context as EvaluationContext, now);
          expect(REASONS).toContain(result.reason);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws for a context whose attributes throw when read', () => {
    const context = Object.defineProperty({ targetingKey: 'u1' }, 'plan', { enumerable: true, get: () => { throw new Error('boom'); } });
    const flag = compileFlag(definition({ rules: [{ id: 'r', type: 'custom', conditions: [{ field: 'plan', operator: 'equals', value: 'pro' }], action: 'enable', priority: 0 }] }));
    expect(evaluate(flag, context, NOW)).toMatchObject({ reason: 'ERROR', errorCode: 'GENERAL' });
    expect(explain(flag, context, NOW).result.errorCode).toBe('GENERAL');
  });

  it('never throws while compiling any definition, and answers ERROR for what does not parse', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (config, type) => {
        const flag = compileFlag({ key: 'k', type: type as never, environment: 'e', version: 1, config: config as never });
        expect(evaluate(flag, { targetingKey: 'u' }, NOW).reason).toBe('ERROR');
      }),
      { numRuns: 500 },
    );
  });

  it('lets the kill switch win over every other part of the config', () => {
    fc.assert(
      fc.property(configArb, contextArb, nowArb, (config, context, now) => {
        const flag = compileFlag(definition({ ...config, kill_switch: { enabled: true } }, { type: 'string' }), segments);
        expect(evaluate(flag, context, now)).toEqual({ value: 'off-value', variant: 'off', reason: 'DISABLED', metadata: { killSwitch: true } });
      }),
      { numRuns: 1000 },
    );
  });

  it('explains with the same result it evaluates', () => {
    fc.assert(
      fc.property(definitionArb, contextArb, nowArb, (def, context, now) => {
        const flag = compileFlag(def, segments);
        const { result, trace } = explain(flag, context, now);
        expect(result).toEqual(evaluate(flag, context, now));
        expect(trace.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('raising a percentage never removes a user', () => {
  const served = (flag: ReturnType<typeof compileFlag>, key: string) => evaluate(flag, { targetingKey: key, plan: 'pro' }, NOW).value === 'on-value';
  const ordered = fc.tuple(percentageArb, percentageArb).map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a]));
  const keys = fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 50 });
  const config = { value: 'on-value', off_value: 'off-value' };
  const cases = {
    rollout: (p: number) => definition({ ...config, rollout: { percentage: p, strategy: 'gradual' } }, { type: 'string' }),
    'percentage rule': (p: number) => definition({ ...config, rules: [{ id: 'p', type: 'percentage', conditions: [], percentage: p, action: 'enable', priority: 0 }], rollout: { percentage: 0, strategy: 'gradual' } }, { type: 'string' }),
    'targeting rule': (p: number) => definition({ ...config, targeting: [{ segments: ['pros'], percentage: p, enabled: true }] }, { type: 'string' }),
  };

  it.each(Object.entries(cases))('%s', (_name, make) => {
    fc.assert(
      fc.property(ordered, keys, ([low, high], users) => {
        const lower = compileFlag(make(low), segments);
        const higher = compileFlag(make(high), segments);
        for (const user of users) if (served(lower, user)) expect(served(higher, user)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('rollout accuracy', () => {
  it('serves p% ± 0.5 of 100 000 random keys', () => {
    fc.assert(
      fc.property(percentageArb, fc.integer(), (p, seed) => {
        const flag = compileFlag(definition({ rollout: { percentage: p, strategy: 'gradual' } }));
        const keys = randomKeys(seed, 100_000);
        let on = 0;
        for (const key of keys) if (evaluate(flag, { targetingKey: key }, NOW).value === true) on++;
        expect(Math.abs((on / keys.length) * 100 - p)).toBeLessThanOrEqual(0.5);
      }),
      // A fixed seed: the tolerance is about 3 standard deviations at p = 50, so random seeds would flake now and then.
      { numRuns: 8, seed: 20_250_601 },
    );
  });
});
