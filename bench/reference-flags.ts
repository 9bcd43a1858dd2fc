// The reference flags the engine and SDK benchmarks measure (simple on/off; five rules with mixed
// operators; three segments and a 25% rollout), with unleash-client's closest equivalents and the
// pool of users they are evaluated for. One definition, so both benchmarks measure the same thing.
import type { ClientFeaturesResponse } from 'unleash-client';
import type { Constraint } from 'unleash-client/lib/strategy/strategy.js';
import type { FlagDefinition } from '../src/domain/flag.js';
import type { Segment } from '../src/domain/segment.js';

export const BLOCKED = ['XX', 'YY', 'KP', 'IR', 'SY', 'CU', 'RU', 'BY', 'VE', 'MM', 'AF', 'IQ', 'LY', 'SD', 'SO', 'YE', 'ZW', 'NI', 'ER', 'SS'];
export const BETA_TESTERS = Array.from({ length: 500 }, (_, i) => `user-${i * 7}`);
const base = { environment: 'production', version: 1, type: 'boolean' as const };
const config = { enabled: true, value: true, off_value: false, rules: [], targeting: [], kill_switch: { enabled: false } };

/** The three reference flags; `appVersionField` is the context path the semver rule reads. */
export function referenceFlags(appVersionField: string): FlagDefinition[] {
  return [
    { ...base, key: 'simple-on-off', config },
    {
      ...base,
      key: 'five-rules',
      config: {
        ...config,
        rules: [
          { id: 'blocked', type: 'user_attribute', priority: 1, action: 'disable', conditions: [{ field: 'country', operator: 'in', value: BLOCKED }] },
          { id: 'staff', type: 'user_attribute', priority: 2, action: 'enable', conditions: [{ field: 'email', operator: 'ends_with', value: '@ripcord.dev' }] },
          { id: 'old-apps', type: 'custom', priority: 3, action: 'disable', conditions: [{ field: appVersionField, operator: 'semver_less_than', value: '1.5.0' }] },
          { id: 'enterprise', type: 'user_attribute', priority: 4, action: 'enable', conditions: [{ field: 'plan', operator: 'equals', value: 'enterprise' }, { field: 'age', operator: 'greater_or_equal', value: 21 }] },
          { id: 'regional-canary', type: 'percentage', priority: 5, action: 'enable', percentage: 25, conditions: [{ field: 'region', operator: 'in', value: ['eu-west', 'us-east'] }] },
        ],
        rollout: { percentage: 0, strategy: 'gradual' },
      },
    },
    {
      ...base,
      key: 'three-segments',
      config: {
        ...config,
        targeting: [{ id: 'early-access', segments: ['beta-testers', 'eu-pros', 'adults-jp'], percentage: 100, enabled: true }],
        rollout: { percentage: 25, strategy: 'gradual' },
      },
    },
  ];
}

export const SEGMENTS: Segment[] = [
  { key: 'beta-testers', kind: 'list', members: BETA_TESTERS },
  { key: 'eu-pros', kind: 'rule', conditions: [{ field: 'region', operator: 'equals', value: 'eu-west' }, { field: 'plan', operator: 'equals', value: 'pro' }] },
  { key: 'adults-jp', kind: 'rule', conditions: [{ field: 'country', operator: 'equals', value: 'JP' }, { field: 'age', operator: 'greater_or_equal', value: 18 }] },
];

// Unleash's equivalents. Its strategies are OR-ed and cannot serve "off" on a match, so Ripcord's
// first-match rules become one flexibleRollout per enabling rule, carrying the inverted constraints
// of every disabling rule before it: on = (not blocked and staff) or (not blocked and not an old app
// and enterprise) or (not blocked and not an old app and in the canary region, 25%). Same answers
// for every user but the 25% slice, which each SDK hashes its own way.
const constraint = (contextName: string, operator: string, values: string[], value?: string, inverted = false): Constraint => ({
  contextName, operator: operator as Constraint['operator'], inverted, values, ...(value === undefined ? {} : { value }),
});
const notBlocked = () => constraint('country', 'IN', BLOCKED, undefined, true);
const notOldApp = () => constraint('appVersion', 'SEMVER_LT', [], '1.5.0', true);
const flexible = (percentage: number, constraints: Constraint[] = [], segments: number[] = []) => ({
  name: 'flexibleRollout', parameters: { rollout: String(percentage), stickiness: 'default', groupId: '' }, constraints, segments,
});
export const UNLEASH_FEATURES: ClientFeaturesResponse['features'] = [
  { name: 'simple-on-off', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [] }] },
  {
    name: 'five-rules',
    enabled: true,
    strategies: [
      flexible(100, [notBlocked(), constraint('email', 'STR_ENDS_WITH', ['@ripcord.dev'])]),
      flexible(100, [notBlocked(), notOldApp(), constraint('plan', 'IN', ['enterprise']), constraint('age', 'NUM_GTE', [], '21')]),
      flexible(25, [notBlocked(), notOldApp(), constraint('region', 'IN', ['eu-west', 'us-east'])]),
    ],
  },
  { name: 'three-segments', enabled: true, strategies: [flexible(100, [], [1]), flexible(100, [], [2]), flexible(100, [], [3]), flexible(25)] },
].map((f) => ({ ...f, type: 'release', project: 'default', stale: false, variants: [], impressionData: false }));
export const UNLEASH_SEGMENTS: ClientFeaturesResponse['segments'] = [
  { id: 1, constraints: [constraint('userId', 'IN', BETA_TESTERS)] },
  { id: 2, constraints: [constraint('region', 'IN', ['eu-west']), constraint('plan', 'IN', ['pro'])] },
  { id: 3, constraints: [constraint('country', 'IN', ['JP']), constraint('age', 'NUM_GTE', [], '18')] },
];

/** The attributes of user `i` of the pool (varied so branch predictors and caches see realistic variety). */
export function userAttributes(i: number) {
  const countries = ['NL', 'DE', 'US', 'FR', 'BR', 'JP'];
  const plans = ['free', 'pro', 'enterprise'];
  const regions = ['eu-west', 'us-east', 'ap-south'];
  return {
    country: countries[i % countries.length]!,
    email: i % 10 === 0 ? `u${i}@ripcord.dev` : `u${i}@example.com`,
    appVersion: `${1 + (i % 3)}.${i % 7}.0`,
    plan: plans[i % plans.length]!,
    age: 12 + (i % 60),
    region: regions[i % regions.length]!,
  };
}

/** unleash-client's context for user `i`: string properties. */
export function unleashContext(i: number, attributes: ReturnType<typeof userAttributes>) {
  return { userId: `user-${i}`, properties: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)])) };
}
