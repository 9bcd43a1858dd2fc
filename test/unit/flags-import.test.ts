import fc from 'fast-check';
import murmur from 'murmurhash3js-revisited';
import { describe, expect, it } from 'vitest';
import type { FlagType } from '../../src/domain/flag.js';
import { compileFlag, evaluate } from '../../src/engine/index.js';
import { validateFile, type FlagEntry } from '../../packages/node/src/flags-as-code/flags-file.js';
import { importFlagd } from '../../packages/node/src/import/flagd.js';
import { renderReport } from '../../packages/node/src/import/import-report.js';
import { importLaunchDarkly } from '../../packages/node/src/import/launchdarkly.js';
import { importUnleash } from '../../packages/node/src/import/unleash.js';

const encoder = new TextEncoder();

/** flagd's fractional (flagd-core's custom_ops.py): (murmur3(flagKey + targetingKey) × Σweights) >> 32, cumulative walk. */
function flagdFractional(flagKey: string, targetingKey: string, slices: Array<[string, number]>): string {
  const hash = BigInt(murmur.x86.hash32(encoder.encode(flagKey + targetingKey), 0) >>> 0);
  const total = slices.reduce((sum, [, w]) => sum + w, 0);
  const bucket = Number((hash * BigInt(total)) >> 32n);
  let end = 0;
  for (const [variant, weight] of slices) {
    end += weight;
    if (bucket < end) return variant;
  }
  throw new Error('no slice');
}

function ripcord(entry: FlagEntry, context: Record<string, unknown>) {
  const compiled = compileFlag({ key: entry.key, type: entry.type as FlagType, environment: 'production', version: 1, config: { ...entry.config, kill_switch: { enabled: false } } as never });
  expect(compiled.compileError).toBeUndefined();
  return evaluate(compiled, context, Date.now());
}

const users = Array.from({ length: 1000 }, (_, i) => `user-${i}`);

describe('flagd import', () => {
  it('keeps every user in the same fractional slice when the weights are whole thousandths of a percent', () => {
    const weights = fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 2, maxLength: 5 }).filter((w) => w.reduce((a, b) => a + b, 0) > 0);
    fc.assert(fc.property(weights, fc.constantFrom(1, 2, 5, 8, 10, 100), fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/), (raw, scale, key) => {
      // Scale each weight so that the total divides 100,000: then every cumulative weight is exact in thousandths.
      const total = raw.reduce((a, b) => a + b, 0);
      const slices = raw.map((w, i): [string, number] => [`v${i}`, w * scale]);
      const exact = [...Array(raw.length).keys()].every((i) => (raw.slice(0, i + 1).reduce((a, b) => a + b, 0) * 100_000) % total === 0);
      const doc = { flags: { [key]: { state: 'ENABLED', variants: Object.fromEntries(slices.map(([v]) => [v, v])), defaultVariant: 'v0', targeting: { fractional: slices } } } };
      const { file, reports } = importFlagd(doc, 'production');
      expect(reports[0]!.cohorts).toBe(exact ? 'exact' : 'change');
      if (!exact) return;
      for (const user of users.slice(0, 200)) expect(ripcord(file.flags[0]!, { targetingKey: user }).variant).toBe(flagdFractional(key, user, slices));
    }), { numRuns: 60 });
  });

  it('maps an if chain with or, in, $ref and a fractional branch to ordered rules flagd agrees with for 1,000 users', () => {
    const doc = {
      $evaluators: { staff: { ends_with: [{ var: 'email' }, '@corp.com'] } },
      flags: {
        layout: {
          state: 'ENABLED', variants: { list: 'list', grid: 'grid', dense: 'dense' }, defaultVariant: 'list',
          targeting: { if: [{ or: [{ $ref: 'staff' }, { in: [{ var: 'tier' }, ['gold', 'vip']] }] }, { fractional: [['grid', 1], ['dense', 3]] }, { '===': [{ var: 'beta' }, true] }, 'dense', null] },
        },
      },
    };
    const { file, reports } = importFlagd(doc, 'production');
    expect(reports).toEqual([{ key: 'layout', mapped: true, cohorts: 'exact', unmapped: [], notes: [expect.stringContaining('targetingKey')] }]);
    expect(validateFile(file).problems).toEqual([]);
    const flagd = (ctx: { targetingKey: string; email?: string; tier?: string; beta?: boolean }) => {
      if (ctx.email?.endsWith('@corp.com') || ['gold', 'vip'].includes(ctx.tier ?? '')) return flagdFractional('layout', ctx.targetingKey, [['grid', 1], ['dense', 3]]);
      if (ctx.beta === true) return 'dense';
      return 'list';
    };
    users.forEach((user, i) => {
      const ctx = { targetingKey: user, email: i % 3 === 0 ? `${user}@corp.com` : `${user}@mail.com`, tier: ['gold', 'free', 'vip'][i % 4], beta: i % 5 === 0 };
      expect(ripcord(file.flags[0]!, ctx).variant).toBe(flagd(ctx));
    });
  });

  it('names what it cannot map and why, and imports the rest', () => {
    const { file, reports } = importFlagd({
      flags: {
        ok: { state: 'DISABLED', variants: { on: true, off: false }, defaultVariant: 'off' },
        clock: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', targeting: { if: [{ '>': [{ var: '$flagd.timestamp' }, 1700000000] }, 'on', 'off'] } },
        regex: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', targeting: { if: [{ matches: [{ var: 'email' }, '.*'] }, 'on', 'off'] } },
        'bad name!': { state: 'ENABLED', variants: { on: true }, defaultVariant: 'on' },
        thirds: { state: 'ENABLED', variants: { a: 1, b: 2 }, defaultVariant: 'a', targeting: { fractional: [['a', 1], ['b', 2]] } },
      },
    }, 'production');
    expect(file.flags.map((f) => f.key)).toEqual(['ok', 'thirds']);
    const by = Object.fromEntries(reports.map((r) => [r.key, r]));
    expect(by.clock!.unmapped[0]).toMatch(/\$flagd\.timestamp .* has no Ripcord condition/);
    expect(by.regex!.unmapped[0]).toMatch(/"matches" has no Ripcord condition/);
    expect(by['bad name!']!.unmapped[0]).toMatch(/not a Ripcord key/);
    expect(by.thirds!.cohorts).toBe('change');
    expect(by.ok).toMatchObject({ mapped: true, cohorts: 'no-bucketing', notes: [expect.stringContaining('DISABLED')] });
    const text = renderReport('flagd', reports).join('\n');
    expect(text).toContain("✗ clock: can't be imported");
    expect(text).toContain('✓ thirds: maps; cohorts will change');
    expect(text).toContain('2 map (1 keep their cohorts, 1 will change cohorts), 3 can\'t be imported');
  });
});

describe('Unleash import', () => {
  const exportOf = (strategies: unknown[], variants: unknown[] = []) => ({
    features: [{ name: 'checkout', type: 'release' }],
    featureStrategies: strategies.map((s, i) => ({ featureName: 'checkout', environment: 'development', sortOrder: i, ...(s as object) })),
    featureEnvironments: [{ featureName: 'checkout', environment: 'development', enabled: true, variants }],
    segments: [{ id: 7, constraints: [{ contextName: 'country', operator: 'IN', values: ['NO', 'SE'] }] }],
  });

  it('turns strategies into ordered rules with a 0% rollout for everyone else', () => {
    const { file, reports } = importUnleash(exportOf([
      { name: 'userWithId', parameters: { userIds: 'u1, u2' } },
      { name: 'flexibleRollout', parameters: { rollout: '25', stickiness: 'default', groupId: 'checkout' }, constraints: [{ contextName: 'tier', operator: 'IN', values: ['pro'] }], segments: [7] },
    ]), 'production');
    expect(reports[0]).toMatchObject({ mapped: true, cohorts: 'exact' });
    expect(file.flags[0]!.config).toEqual({
      enabled: true, variants: [{ name: 'on', value: true }, { name: 'off', value: false }], on_variant: 'on', off_variant: 'off',
      rules: [
        { id: 's1', type: 'custom', conditions: [{ field: 'targetingKey', operator: 'in', value: ['u1', 'u2'] }], action: 'enable', priority: 0 },
        { id: 's2', type: 'percentage', conditions: [{ field: 'tier', operator: 'in', value: ['pro'] }, { field: 'country', operator: 'in', value: ['NO', 'SE'] }], action: 'enable', priority: 1, percentage: 25 },
      ],
      rollout: { percentage: 0, strategy: 'immediate' },
      bucketing: { scheme: 'unleash', group_id: 'checkout' },
    });
    expect(ripcord(file.flags[0]!, { targetingKey: 'u2' }).value).toBe(true);
    expect(ripcord(file.flags[0]!, { targetingKey: 'u3', tier: 'free' }).value).toBe(false);
  });

  it('keeps cohorts without partial rollouts and names strategies it cannot map', () => {
    expect(importUnleash(exportOf([{ name: 'default' }]), 'production').reports[0]).toMatchObject({ mapped: true, cohorts: 'no-bucketing' });
    expect(importUnleash(exportOf([{ name: 'flexibleRollout', parameters: { rollout: '100' } }]), 'production').file.flags[0]!.config.rollout).toBeUndefined();
    // Two groups, or another stickiness, have no one bucketing: the share is kept, not the users.
    const twoGroups = importUnleash(exportOf([
      { name: 'flexibleRollout', parameters: { rollout: '10', groupId: 'a' } }, { name: 'gradualRolloutUserId', parameters: { percentage: '20', groupId: 'b' } },
    ]), 'production');
    expect(twoGroups.reports[0]).toMatchObject({ cohorts: 'change', notes: [expect.stringContaining('2 different groupIds')] });
    expect(twoGroups.file.flags[0]!.config.bucketing).toBeUndefined();
    expect(importUnleash(exportOf([{ name: 'flexibleRollout', parameters: { rollout: '10', stickiness: 'tenantId' } }]), 'production').reports[0]).toMatchObject({ cohorts: 'change' });
    expect(importUnleash(exportOf([{ name: 'remoteAddress', parameters: { IPs: '10.0.0.1' } }]), 'production').reports[0]!.unmapped[0]).toMatch(/remoteAddress has no Ripcord equivalent/);
    expect(importUnleash(exportOf([{ name: 'default', constraints: [{ contextName: 'currentTime', operator: 'DATE_AFTER', value: '2024-01-01T00:00:00Z' }] }]), 'production').reports[0]!.unmapped[0]).toMatch(/currentTime/);
    const variants = importUnleash(exportOf([{ name: 'default' }], [{ name: 'blue', weight: 500 }, { name: 'red', weight: 500 }]), 'production');
    expect(variants.reports[0]).toMatchObject({ mapped: true, cohorts: 'change' });
    expect(variants.file.flags[0]!.config.split).toEqual([{ variant: 'blue', weight: 50 }, { variant: 'red', weight: 50 }]);
  });
});

describe('LaunchDarkly import', () => {
  const base = { key: 'pricing', on: true, variations: ['a', 'b', 'c'], offVariation: 0, fallthrough: { variation: 1 }, salt: 's' };

  it('checks targets before rules and keeps cohorts without rollouts', () => {
    const { file, reports } = importLaunchDarkly({ flags: { pricing: { ...base, targets: [{ values: ['u9'], variation: 2 }], rules: [{ clauses: [{ attribute: 'country', op: 'in', values: ['NO'] }, { attribute: 'email', op: 'endsWith', values: ['@a.com', '@b.com'] }], variation: 0 }] } } }, 'production');
    expect(reports[0]).toMatchObject({ mapped: true, cohorts: 'no-bucketing' });
    const flag = file.flags[0]!;
    expect(flag.config.rules!.map((r) => r.variant)).toEqual(['v2', 'v0', 'v0']);
    expect(ripcord(flag, { targetingKey: 'u9', country: 'NO', email: 'x@a.com' }).value).toBe('c');
    expect(ripcord(flag, { targetingKey: 'u1', country: 'NO', email: 'x@b.com' }).value).toBe('a');
    expect(ripcord(flag, { targetingKey: 'u1', country: 'SE', email: 'x@b.com' }).value).toBe('b');
  });

  it('reads the REST API shape, taking one environment of each flag', () => {
    const rest = {
      items: [{
        key: 'pricing', name: 'Pricing', tags: ['web'], variations: [{ value: 'a', name: 'basic' }, { value: 'b', name: 'plus' }],
        environments: { production: { on: true, offVariation: 0, fallthrough: { variation: 1 }, targets: [], rules: [] }, test: { on: false, offVariation: 0, fallthrough: { variation: 0 } } },
      }],
    };
    expect(() => importLaunchDarkly(rest, 'production')).toThrow(/--source-environment \(production, test\)/);
    const { file } = importLaunchDarkly(rest, 'production', 'production');
    expect(file.flags[0]).toMatchObject({ key: 'pricing', name: 'Pricing', tags: ['web'], config: { enabled: true, on_variant: 'plus', off_variant: 'basic' } });
  });

  it('reports prerequisites and unsupported clauses, and rollouts as changing cohorts', () => {
    const { reports } = importLaunchDarkly({
      flags: {
        pre: { ...base, key: 'pre', prerequisites: [{ key: 'other', variation: 0 }] },
        regex: { ...base, key: 'regex', rules: [{ clauses: [{ attribute: 'email', op: 'matches', values: ['.*'] }], variation: 0 }] },
        split: { ...base, key: 'split', fallthrough: { rollout: { variations: [{ variation: 0, weight: 60000 }, { variation: 1, weight: 40000 }] } } },
      },
    }, 'production');
    const by = Object.fromEntries(reports.map((r) => [r.key, r]));
    expect(by.pre!.unmapped[0]).toMatch(/prerequisites \(other\)/);
    expect(by.regex!.unmapped[0]).toMatch(/matches has no Ripcord condition/);
    expect(by.split).toMatchObject({ mapped: true, cohorts: 'change' });
  });
});
