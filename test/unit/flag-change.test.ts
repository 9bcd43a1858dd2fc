import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultConfigFor, type FlagDefinition } from '../../src/domain/flag.js';
import { sortedJson, stateChangeBase } from '../../src/domain/flag-change.js';

const definition = (version: number, config: Partial<FlagDefinition['config']> = {}): FlagDefinition => ({
  key: 'checkout', type: 'boolean', environment: 'production', version, config: { ...defaultConfigFor('boolean'), ...config },
});

describe('a change a stream event carries whole (stateChangeBase)', () => {
  it('is a switch of enabled or of the kill switch and nothing else evaluated; its base is the previous flag version', () => {
    const before = definition(4, { enabled: true, rules: [{ id: 'r1', conditions: [], action: 'enable' }] as never });
    expect(stateChangeBase(before, { ...before, version: 9, config: { ...before.config, kill_switch: { enabled: true, reason: 'fire', triggered_by: 'u1' } } })).toBe(4);
    expect(stateChangeBase(before, { ...before, version: 9, config: { ...before.config, enabled: false } })).toBe(4);
    // Key order does not matter.
    const reordered = Object.fromEntries(Object.entries(before.config).reverse()) as FlagDefinition['config'];
    expect(stateChangeBase(before, { ...before, version: 9, config: { ...reordered, enabled: false } })).toBe(4);
  });

  it('is not: a rule changed with it, nothing switched (a re-version for a segment), no previous, an archive, another type', () => {
    const before = definition(4, { enabled: true });
    expect(stateChangeBase(before, { ...before, version: 9, config: { ...before.config, enabled: false, value: false } })).toBeUndefined();
    expect(stateChangeBase(before, { ...before, version: 9 })).toBeUndefined();
    expect(stateChangeBase(before, { ...before, version: 9, config: { ...before.config, kill_switch: { enabled: false, reason: 'note' } } })).toBeUndefined();
    expect(stateChangeBase(undefined, definition(9))).toBeUndefined();
    expect(stateChangeBase(before, { ...before, version: 9, archived: true, config: { ...before.config, enabled: false } })).toBeUndefined();
    expect(stateChangeBase({ ...before, archived: true }, { ...before, version: 9, config: { ...before.config, enabled: false } })).toBeUndefined();
    expect(stateChangeBase(before, { ...before, type: 'string', version: 9, config: { ...before.config, enabled: false } })).toBeUndefined();
  });

  it('property: defined exactly when the configs are equal but for enabled and kill_switch, and one of their switches differs', () => {
    const config = fc.record({
      enabled: fc.boolean(), killed: fc.boolean(), value: fc.boolean(), rollout: fc.integer({ min: 0, max: 100 }), reason: fc.option(fc.string({ maxLength: 5 }), { nil: undefined }),
    });
    fc.assert(fc.property(config, config, (a, b) => {
      const make = (c: typeof a, version: number) => definition(version, {
        enabled: c.enabled, value: c.value, off_value: !c.value, rollout: { percentage: c.rollout } as never,
        kill_switch: c.reason === undefined ? { enabled: c.killed } : { enabled: c.killed, reason: c.reason },
      });
      const switched = a.enabled !== b.enabled || a.killed !== b.killed;
      const restSame = a.value === b.value && a.rollout === b.rollout;
      expect(stateChangeBase(make(a, 1), make(b, 2))).toBe(switched && restSame ? 1 : undefined);
    }));
  });

  it('compares JSON with keys sorted, absent and undefined alike', () => {
    expect(sortedJson({ b: 1, a: [{ d: null, c: 'x' }], e: undefined })).toBe('{"a":[{"c":"x","d":null}],"b":1}');
    expect(sortedJson(undefined)).toBe('null');
  });
});
