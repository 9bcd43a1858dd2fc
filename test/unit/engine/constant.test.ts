import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlagDefinition } from '../../../src/domain/flag.js';
import { compileFlag, evaluate } from '../../../src/engine/index.js';
import { configArb, contextArb, definitionArb, nowArb, segments } from './arbitraries.js';

// A compiled flag's `constant` lets a bulk answer pre-render the flag once for every caller: it must
// be exactly what the decision procedure answers, for every context at every time.

/** Definitions that are often constant: the full config, or one stripped of what depends on the user. */
const mostlySimpleArb: fc.Arbitrary<FlagDefinition> = fc.tuple(definitionArb, fc.boolean(), fc.boolean(), fc.constantFrom(0, 25, 100)).map(([def, strip, rollout, percentage]) =>
  strip
    ? { ...def, config: { ...def.config, rules: [], targeting: [], split: undefined, rollout: rollout ? { percentage, strategy: 'immediate' as const } : undefined } }
    : def);

describe('constant answers', () => {
  it('equal what the decision procedure answers for any context at any time', () => {
    let constants = 0;
    fc.assert(
      fc.property(mostlySimpleArb, fc.array(fc.tuple(contextArb, nowArb), { minLength: 1, maxLength: 5 }), (def, calls) => {
        const flag = compileFlag(def, segments);
        if (!flag.constant) return;
        constants += 1;
        for (const [context, now] of calls) expect(flag.run(context, now, undefined)).toEqual(flag.constant);
      }),
      { numRuns: 3000 },
    );
    expect(constants).toBeGreaterThan(300);
  });

  it('are found for killed, disabled and static flags and for 0 % and 100 % rollouts, not for anything that looks at the user', () => {
    fc.assert(
      fc.property(configArb, (config) => {
        const def = (c: Partial<FlagDefinition['config']>): FlagDefinition => ({ key: 'k', type: 'string', environment: 'production', version: 1, config: { ...config, ...c } as FlagDefinition['config'] });
        expect(compileFlag(def({ kill_switch: { enabled: true } }), segments).constant).toMatchObject({ reason: 'DISABLED', metadata: { killSwitch: true } });
        expect(compileFlag(def({ kill_switch: { enabled: false }, enabled: false }), segments).constant).toMatchObject({ reason: 'DISABLED', variant: 'off' });
        const bare = { kill_switch: { enabled: false }, enabled: true, rules: [], targeting: [] };
        expect(compileFlag(def({ ...bare, rollout: undefined }), segments).constant).toMatchObject({ reason: 'STATIC', variant: 'on' });
        expect(compileFlag(def({ ...bare, rollout: { percentage: 100, strategy: 'immediate' } }), segments).constant).toMatchObject({ reason: 'SPLIT', variant: 'on' });
        expect(compileFlag(def({ ...bare, rollout: { percentage: 0, strategy: 'gradual' } }), segments).constant).toMatchObject({ reason: 'DEFAULT', variant: 'off' });
        expect(compileFlag(def({ ...bare, rollout: { percentage: 50, strategy: 'immediate' } }), segments).constant).toBeUndefined();
        if (config.enabled && !config.kill_switch.enabled && (config.rules.length > 0 || config.targeting.some((t) => t.enabled))) {
          expect(compileFlag(def({}), segments).constant).toBeUndefined();
        }
      }),
      { numRuns: 500 },
    );
  });

  it('is what evaluate() answers', () => {
    const flag = compileFlag({ key: 'k', type: 'boolean', environment: 'production', version: 3, config: { enabled: false, value: true, off_value: false, rules: [], targeting: [], kill_switch: { enabled: false } } as never });
    expect(flag.constant).toBeDefined();
    expect(evaluate(flag, { targetingKey: 'u' }, 0)).toBe(flag.constant);
  });
});
