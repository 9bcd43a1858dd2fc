import fc from 'fast-check';
import type { Condition, FlagConfig, FlagDefinition } from '../../../src/domain/flag.js';
import type { Segment } from '../../../src/domain/segment.js';

/** Conditions of every operator with valid values, over a small set of fields so that they sometimes match. */
export const conditionArb: fc.Arbitrary<Condition> = fc.oneof(
  fc.record({ field: fc.constantFrom('plan', 'user.plan'), operator: fc.constantFrom('equals', 'not_equals', 'contains', 'starts_with', 'ends_with'), value: fc.constantFrom('pro', 'free', 'p') }),
  fc.record({ field: fc.constantFrom('country', 'tags'), operator: fc.constantFrom('in', 'not_in'), value: fc.constant(['NL', 'BE', 'beta']) }),
  fc.record({ field: fc.constantFrom('age', 'user.age'), operator: fc.constantFrom('greater_than', 'less_than', 'greater_or_equal', 'less_or_equal', 'equals'), value: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ field: fc.constantFrom('beta', 'user'), operator: fc.constant('exists'), value: fc.boolean() }),
  fc.record({ field: fc.constant('version'), operator: fc.constantFrom('semver_equals', 'semver_greater_than', 'semver_less_than'), value: fc.constantFrom('1.2.3', '2.0.0-rc.1') }),
  fc.record({ field: fc.constant('signup'), operator: fc.constantFrom('before', 'after'), value: fc.constantFrom('2024-01-01T00:00:00Z', '2020-06-01') }),
) as fc.Arbitrary<Condition>;

/** Percentages with up to three decimals. */
export const percentageArb = fc.integer({ min: 0, max: 100_000 }).map((n) => n / 1000);

const ruleArb = (i: number) =>
  fc.record({
    id: fc.constant(`rule-${i}`),
    type: fc.constantFrom('user_attribute', 'environment', 'custom', 'percentage'),
    conditions: fc.array(conditionArb, { maxLength: 3 }),
    action: fc.constantFrom('enable', 'disable', 'override_value'),
    value: fc.constant(`override-${i}`),
    priority: fc.integer({ min: -3, max: 3 }),
    percentage: percentageArb,
  }).map(({ percentage, ...rule }) => (rule.type === 'percentage' ? { ...rule, percentage } : rule));

/** A string flag config using every feature: rules, targeting over the segments below, an optional rollout. */
export const configArb: fc.Arbitrary<FlagConfig> = fc.record({
  enabled: fc.boolean(),
  value: fc.constant('on-value'),
  off_value: fc.constant('off-value'),
  rules: fc.integer({ min: 0, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => ruleArb(i)))),
  targeting: fc.array(
    fc.record({ segments: fc.subarray(['pros', 'vips', 'ghost'], { minLength: 1 }), percentage: percentageArb, enabled: fc.boolean() }),
    { maxLength: 2 },
  ),
  rollout: fc.option(
    fc.record({
      percentage: percentageArb,
      strategy: fc.constantFrom('gradual', 'immediate', 'scheduled'),
      start_date: fc.constant('2025-01-01T00:00:00Z'),
      end_date: fc.constant('2025-12-31T00:00:00Z'),
    }),
    { nil: undefined },
  ),
  kill_switch: fc.record({ enabled: fc.boolean() }),
}) as fc.Arbitrary<FlagConfig>;

export const definitionArb: fc.Arbitrary<FlagDefinition> = fc.record({
  key: fc.string({ minLength: 1, maxLength: 20 }),
  type: fc.constant('string' as const),
  environment: fc.constantFrom('production', 'staging'),
  version: fc.nat(),
  config: configArb,
});

export const segments = new Map<string, Segment>([
  ['pros', { key: 'pros', kind: 'rule', conditions: [{ field: 'plan', operator: 'equals', value: 'pro' }] }],
  ['vips', { key: 'vips', kind: 'list', members: ['alice', 'bob', 'u1'] }],
]);

/** Contexts that exercise the fields the conditions read, with values of every type. */
export const contextArb = fc.record(
  {
    targetingKey: fc.oneof(fc.constantFrom('alice', 'bob', 'u1', ''), fc.string()),
    plan: fc.oneof(fc.constantFrom('pro', 'free'), fc.anything()),
    user: fc.oneof(fc.record({ plan: fc.constantFrom('pro', 'free'), age: fc.integer({ min: 0, max: 100 }) }), fc.anything()),
    country: fc.oneof(fc.constantFrom('NL', 'DE'), fc.anything()),
    tags: fc.oneof(fc.constant(['beta']), fc.anything()),
    age: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.double(), fc.anything()),
    beta: fc.anything(),
    version: fc.oneof(fc.constantFrom('1.2.3', '2.0.0', '1.0.0-beta', 'x'), fc.anything()),
    signup: fc.oneof(fc.constantFrom('2023-05-01', '2024-06-01T10:00:00+02:00'), fc.integer(), fc.anything()),
    environment: fc.constantFrom('production', 'staging'),
  },
  { requiredKeys: [] },
);

/** Epoch ms around the scheduled window of configArb's rollouts. */
export const nowArb = fc.integer({ min: Date.parse('2024-06-01T00:00:00Z'), max: Date.parse('2026-06-01T00:00:00Z') });

/** A deterministic stream of random targeting keys (mulberry32), so percentage checks are reproducible. */
export function randomKeys(seed: number, count: number): string[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_@.';
  return Array.from({ length: count }, () => {
    const length = 4 + Math.floor(next() * 28);
    let key = '';
    for (let i = 0; i < length; i++) key += alphabet[Math.floor(next() * alphabet.length)];
    return key;
  });
}
