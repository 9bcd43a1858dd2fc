import { describe, expect, it } from 'vitest';
import type { FlagDefinition } from '../../src/domain/flag.js';
import { segmentSchema, type Segment } from '../../src/domain/segment.js';
import { FLAGD_SCHEMA, MAX_INLINED_MEMBERS, TARGETING_KEY_MISSING_VARIANT, inexpressibleReason, toFlagdDocument, toFlagdFlag } from '../../src/flagd/flagd-document.js';
import bucketing from '../vectors/bucketing.json' with { type: 'json' };
import errors from '../vectors/errors.json' with { type: 'json' };
import operators from '../vectors/operators.json' with { type: 'json' };
import precedence from '../vectors/precedence.json' with { type: 'json' };
import schedule from '../vectors/schedule.json' with { type: 'json' };
import variants from '../vectors/variants.json' with { type: 'json' };
import { definition } from './engine/helpers.js';

interface VectorFile {
  flags: Record<string, unknown>;
  segments?: unknown[];
  cases: Array<{ flag: string }>;
}
const files: Record<string, VectorFile> = { precedence, operators, schedule, bucketing, errors, variants } as Record<string, VectorFile>;

/**
 * Every engine vector flag flagd cannot serve as Ripcord does, and why (docs/architecture.md, "flagd as
 * an edge tier"). Every other vector flag converts; test/integration/flagd-sync.test.ts checks that
 * flagd's own evaluator then gives Ripcord's answer for each of their cases.
 */
const INEXPRESSIBLE: Record<string, RegExp> = {
  ...Object.fromEntries(['op-82', 'op-83', 'op-84', 'op-85', 'op-86', 'op-87', 'op-88', 'op-89'].map((id) => [`operators/${id}`, /before compares dates in the context/])),
  ...Object.fromEntries(['op-90', 'op-91', 'op-92'].map((id) => [`operators/${id}`, /after compares dates in the context/])),
  'precedence/json-override': /variant 'off' is null; flagd's object flags serve JSON objects only/,
  ...Object.fromEntries(
    ['wrong-value-type', 'wrong-override-type', 'override-without-value', 'unknown-operator', 'in-without-array', 'percentage-out-of-range', 'missing-off-value', 'killed-bad-off-value']
      .map((id) => [`errors/${id}`, /does not compile .*Ripcord answers PARSE_ERROR/]),
  ),
};

function segmentsOf(file: VectorFile): Map<string, Segment> {
  return new Map((file.segments ?? []).map((s) => segmentSchema.parse(s)).map((s) => [s.key, s]));
}

describe('flagd document: the engine vectors', () => {
  const all = Object.entries(files).flatMap(([name, file]) => Object.entries(file.flags).map(([id, def]) => [`${name}/${id}`, def as FlagDefinition, segmentsOf(file)] as const));

  it.each(all.map(([id, def, segments]) => [id, def, segments] as const))('%s', (id, def, segments) => {
    const reason = inexpressibleReason(def, segments);
    if (INEXPRESSIBLE[id]) {
      expect(reason).toMatch(INEXPRESSIBLE[id]);
      return;
    }
    expect(reason).toBeUndefined();
    const flag = toFlagdFlag(def, segments);
    expect(flag.state).toBe('ENABLED');
    expect(Object.keys(flag.variants)).toContain(flag.defaultVariant);
    // flagd takes an object as targeting, or none (then it serves defaultVariant with reason STATIC).
    if (flag.targeting !== undefined) expect(typeof flag.targeting === 'object' && !Array.isArray(flag.targeting)).toBe(true);
    expect(Object.keys(flag.variants)).not.toContain(TARGETING_KEY_MISSING_VARIANT);
  });

  it('leaves out exactly the listed flags, which hold 20 of the 207 cases', () => {
    const leftOut = all.filter(([, def, segments]) => inexpressibleReason(def, segments) !== undefined).map(([id]) => id);
    expect(leftOut.sort()).toEqual(Object.keys(INEXPRESSIBLE).sort());
    const cases = Object.entries(files).flatMap(([name, file]) => file.cases.map((c) => `${name}/${c.flag}`));
    expect(cases).toHaveLength(207);
    expect(cases.filter((id) => INEXPRESSIBLE[id])).toHaveLength(20);
  });
});

describe('flagd document: shapes', () => {
  it('serves a killed flag its off value statically, with the kill as metadata', () => {
    const flag = toFlagdFlag(definition({ kill_switch: { enabled: true }, rollout: { percentage: 50, strategy: 'gradual' } }), new Map());
    expect(flag).toEqual({ state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', metadata: { killSwitch: true } });
  });

  it('serves a disabled flag its off value statically and an unconditional flag its value statically', () => {
    expect(toFlagdFlag(definition({ enabled: false }), new Map())).toEqual({ state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' });
    expect(toFlagdFlag(definition(), new Map())).toEqual({ state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' });
  });

  it('leaves out a flag bucketed as Unleash does when a bucket decides, and keeps it when none does', () => {
    const unleash = { scheme: 'unleash' as const, group_id: 'checkout' };
    expect(inexpressibleReason(definition({ bucketing: unleash, rollout: { percentage: 25, strategy: 'gradual' } }), new Map()))
      .toMatch(/buckets users as unleash does .*flagd's fractional buckets by flagKey \+ targetingKey/);
    expect(toFlagdFlag(definition({ bucketing: unleash, rollout: { percentage: 100, strategy: 'gradual' } }), new Map())).toEqual(toFlagdFlag(definition({ rollout: { percentage: 100, strategy: 'gradual' } }), new Map()));
    expect(inexpressibleReason(definition({ bucketing: unleash, enabled: false, rollout: { percentage: 25, strategy: 'gradual' } }), new Map())).toBeUndefined();
  });

  it('buckets a percentage with fractional weights in thousandths of a percent', () => {
    const flag = toFlagdFlag(definition({ rollout: { percentage: 21.522, strategy: 'gradual' } }), new Map());
    expect(flag.defaultVariant).toBe('off');
    expect(JSON.stringify(flag.targeting)).toContain(JSON.stringify({ fractional: [['in', 21522], ['out', 78478]] }));
  });

  it('splits across variants with fractional over the same weights, in thousandths', () => {
    const config = {
      variants: [{ name: 'control', value: 'a' }, { name: 'compact', value: 'b' }, { name: 'wide', value: 'c' }], on_variant: 'control', off_variant: 'wide',
      value: undefined, off_value: undefined,
      split: [{ variant: 'control', weight: 50 }, { variant: 'compact', weight: 33.333 }, { variant: 'wide', weight: 16.667 }],
    };
    const flag = toFlagdFlag(definition(config, { type: 'string' }), new Map());
    expect(flag.variants).toEqual({ control: 'a', compact: 'b', wide: 'c' });
    expect(flag.defaultVariant).toBe('control');
    expect(flag.targeting).toEqual({ if: [{ '!': [{ var: 'targetingKey' }] }, TARGETING_KEY_MISSING_VARIANT, { fractional: [['control', 50000], ['compact', 33333], ['wide', 16667]] }] });
  });

  it('compares a scheduled window with $flagd.timestamp in whole seconds, and leaves out one that is not on a second', () => {
    const window = { percentage: 100, strategy: 'scheduled' as const, start_date: '2025-03-01T00:00:00Z', end_date: '2025-03-08T00:00:00Z' };
    const flag = toFlagdFlag(definition({ rollout: window }), new Map());
    expect(flag.targeting).toEqual({
      if: [{ '!': [{ and: [{ '>=': [{ var: '$flagd.timestamp' }, 1740787200] }, { '<': [{ var: '$flagd.timestamp' }, 1741392000] }] }] }, null, 'on'],
    });
    expect(inexpressibleReason(definition({ rollout: { ...window, start_date: '2025-03-01T00:00:00.500Z' } }), new Map())).toMatch(/not on a whole second/);
  });

  it('inlines segments: rule segments as conditions, list segments as members, up to the limit', () => {
    const rule: Segment = { key: 'eu', kind: 'rule', conditions: [{ field: 'region', operator: 'starts_with', value: 'eu' }] };
    const list: Segment = { key: 'vips', kind: 'list', members: ['carol'] };
    const config = { targeting: [{ segments: ['eu', 'vips'], percentage: 100, enabled: true }] };
    const flag = toFlagdFlag(definition(config), new Map<string, Segment>([['eu', rule], ['vips', list]]));
    expect(flag.targeting).toEqual({ if: [{ or: [{ starts_with: [{ var: 'region' }, 'eu'] }, { in: [{ var: 'targetingKey' }, ['carol']] }] }, 'on', null] });
    const big: Segment = { key: 'vips', kind: 'list', members: Array.from({ length: MAX_INLINED_MEMBERS + 1 }, (_, i) => `u${i}`) };
    expect(inexpressibleReason(definition(config), new Map<string, Segment>([['eu', rule], ['vips', big]]))).toMatch(`has ${MAX_INLINED_MEMBERS + 1} members; at most ${MAX_INLINED_MEMBERS} are inlined`);
  });

  it('leaves out an override rule whose id is a variant name already taken', () => {
    const rules = [{ id: 'on', type: 'custom' as const, conditions: [], action: 'override_value' as const, value: false, priority: 1 }];
    expect(inexpressibleReason(definition({ rules }), new Map())).toMatch(/rule id 'on'/);
  });

  it('renders an environment: served flags by key, archived ones dropped, the rest reported with the reason', () => {
    const { document, leftOut } = toFlagdDocument('production', 7, [
      definition({}, { key: 'b' }),
      definition({}, { key: 'a' }),
      { ...definition({}, { key: 'gone' }), archived: true },
      definition({ rules: [{ id: 'r', type: 'custom', conditions: [{ field: 'signup', operator: 'before', value: '2024-01-01' }], action: 'enable', priority: 1 }] }, { key: 'dated' }),
    ], new Map());
    expect(document.$schema).toBe(FLAGD_SCHEMA);
    expect(Object.keys(document.flags)).toEqual(['a', 'b']);
    expect(document.metadata).toEqual({ flagSetId: 'production', version: '7' });
    expect(leftOut).toEqual([{ key: 'dated', reason: expect.stringMatching(/before compares dates/) }]);
  });
});
