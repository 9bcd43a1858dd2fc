import { describe, expect, it } from 'vitest';
import { defaultConfigFor, flagConfigInputSchemaFor, flagDefinitionSchema } from '../../../src/domain/flag.js';
import { compileFlag, evaluate } from '../../../src/engine/index.js';

const rule = { id: 'beta', type: 'user_attribute', conditions: [{ field: 'plan', operator: 'equals', value: 'pro' }], action: 'override_value', priority: 1 };

describe('flag config input', () => {
  it('refuses an override value of the wrong type, naming the path', () => {
    const parsed = flagConfigInputSchemaFor('number').safeParse({ enabled: true, value: 1, off_value: 0, rules: [{ ...rule, value: 'one' }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path)).toContainEqual(['rules', 0, 'value']);
  });

  it('refuses value and off_value of the wrong type', () => {
    const parsed = flagConfigInputSchemaFor('boolean').safeParse({ enabled: true, value: 'yes', off_value: 0 });
    expect(parsed.error?.issues.map((i) => i.path)).toEqual([['value'], ['off_value']]);
  });

  it('defaults rules and targeting to empty lists and leaves rollout absent', () => {
    const parsed = flagConfigInputSchemaFor('json').parse({ enabled: true, value: { a: [1] }, off_value: null });
    expect(parsed).toEqual({
      enabled: true, value: { a: [1] }, off_value: null, rules: [], targeting: [],
      variants: [{ name: 'on', value: { a: [1] } }, { name: 'off', value: null }], on_variant: 'on', off_variant: 'off',
    });
  });

  it('refuses a condition whose value does not suit its operator', () => {
    const parsed = flagConfigInputSchemaFor('boolean').safeParse({
      enabled: true, value: true, off_value: false,
      rules: [{ ...rule, action: 'enable', conditions: [{ field: 'v', operator: 'semver_greater_than', value: 'latest' }] }],
    });
    expect(parsed.error?.issues.map((i) => i.path)).toContainEqual(['rules', 0, 'conditions', 0, 'value']);
  });

  it('refuses a percentage with more than three decimals and a rollout window that ends before it starts', () => {
    const parsed = flagConfigInputSchemaFor('boolean').safeParse({
      enabled: true, value: true, off_value: false,
      rollout: { percentage: 12.3456, strategy: 'scheduled', start_date: '2025-02-01T00:00:00Z', end_date: '2025-01-01T00:00:00Z' },
    });
    expect(parsed.error?.issues.map((i) => i.path)).toEqual([['rollout', 'percentage'], ['rollout', 'end_date']]);
  });

  it('refuses duplicate rule ids', () => {
    const parsed = flagConfigInputSchemaFor('boolean').safeParse({ enabled: true, value: true, off_value: false, rules: [{ ...rule, action: 'enable' }, { ...rule, action: 'disable' }] });
    expect(parsed.error?.issues.map((i) => i.path)).toContainEqual(['rules', 1, 'id']);
  });
});

describe('variants in a config', () => {
  const variants = [{ name: 'control', value: 'classic' }, { name: 'compact', value: 'dense' }, { name: 'wide', value: 'airy' }];
  const base = { enabled: true, variants, on_variant: 'control', off_variant: 'control' };
  const paths = (input: unknown) => flagConfigInputSchemaFor('string').safeParse(input).error?.issues.map((i) => [i.path.join('.'), i.message]);

  it('fills value and off_value from the on and off variants', () => {
    const parsed = flagConfigInputSchemaFor('string').parse({ ...base, off_variant: 'wide', split: [{ variant: 'control', weight: 50 }, { variant: 'compact', weight: 30 }, { variant: 'wide', weight: 20 }] });
    expect(parsed).toMatchObject({ value: 'classic', off_value: 'airy', on_variant: 'control', off_variant: 'wide', variants });
  });

  it('refuses duplicate names, unknown references, bad weights and values of the wrong type, naming each field', () => {
    expect(paths({ ...base, variants: [...variants, { name: 'wide', value: 'x' }] })).toEqual([['variants.3.name', "duplicate variant name 'wide'"]]);
    expect(paths({ ...base, on_variant: 'huge' })).toEqual([['on_variant', "unknown variant 'huge'"]]);
    expect(paths({ ...base, split: [{ variant: 'control', weight: 50 }, { variant: 'wide', weight: 40 }] })).toEqual([['split', 'the weights add up to 90, not 100']]);
    expect(paths({ ...base, split: [{ variant: 'control', weight: 50 }, { variant: 'narrow', weight: 50 }] })).toEqual([['split.1.variant', "unknown variant 'narrow'"]]);
    expect(paths({ ...base, split: [{ variant: 'wide', weight: 50 }, { variant: 'wide', weight: 50 }] })).toEqual([['split.1.variant', "variant 'wide' appears twice in the split"]]);
    expect(paths({ ...base, variants: [{ name: 'control', value: 3 }] })?.[0]?.[0]).toBe('variants.0.value');
    expect(paths({ ...base, variants: [{ name: 'no spaces', value: 'x' }] })?.[0]?.[0]).toBe('variants.0.name');
    expect(paths({ ...base, rules: [{ ...rule, action: 'serve', variant: 'huge' }] })).toEqual([['rules.0.variant', "unknown variant 'huge'"]]);
    expect(paths({ ...base, rules: [{ ...rule, action: 'serve' }] })).toEqual([['rules.0.variant', 'a serve rule needs a variant']]);
    expect(paths({ ...base, targeting: [{ segments: ['eu'], variant: 'huge' }] })).toEqual([['targeting.0.variant', "unknown variant 'huge'"]]);
    expect(paths({ ...base, value: 'dense' })).toEqual([['value', "value must equal the value of variant 'control' (or be left out)"]]);
    expect(paths({ ...base, split: [{ variant: 'control', weight: 100 }], rollout: { percentage: 5, strategy: 'gradual' } })).toEqual([['split', 'a config takes a percentage rollout or a split, not both']]);
    expect(paths({ enabled: true, value: 'a', off_value: 'b', on_variant: 'on' })).toEqual([['on_variant', 'on_variant needs a variants list']]);
  });

  it('lets the shape before variants name its implicit on and off variants', () => {
    expect(paths({ enabled: true, value: 'a', off_value: 'b', split: [{ variant: 'on', weight: 25 }, { variant: 'off', weight: 75 }] })).toBeUndefined();
  });
});

describe('defaultConfigFor', () => {
  it.each([
    ['boolean', true, false],
    ['string', '', ''],
    ['number', 0, 0],
    ['json', {}, {}],
  ] as const)('gives a fresh %s flag that is off and serves its off value', (type, value, offValue) => {
    const config = defaultConfigFor(type);
    expect(config).toEqual({
      enabled: false, variants: [{ name: 'on', value }, { name: 'off', value: offValue }], on_variant: 'on', off_variant: 'off',
      value, off_value: offValue, rules: [], targeting: [], kill_switch: { enabled: false },
    });
    const result = evaluate(compileFlag({ key: 'f', type, environment: 'dev', version: 1, config }), { targetingKey: 'u' }, 0);
    expect(result).toEqual({ value: offValue, variant: 'off', reason: 'DISABLED' });
  });

  it('hands out independent json objects', () => {
    const a = defaultConfigFor('json');
    (a.value as Record<string, unknown>).x = 1;
    expect(defaultConfigFor('json').value).toEqual({});
  });
});

describe('flag definition', () => {
  it('round-trips through JSON', () => {
    const def = { key: 'f', type: 'string', environment: 'staging', version: 7, config: { ...defaultConfigFor('string'), rules: [{ ...rule, value: 'x' }] } };
    const parsed = flagDefinitionSchema.parse(JSON.parse(JSON.stringify(def)));
    expect(parsed.config.rules[0]).toMatchObject({ id: 'beta', value: 'x', priority: 1 });
  });
});
