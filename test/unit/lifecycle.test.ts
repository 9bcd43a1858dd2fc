import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlagConfig } from '../../src/domain/flag.js';
import {
  DEFAULT_LIFECYCLE_THRESHOLDS, deriveLifecycle, isoWeek, servingEverywhere, servingOf, stageRank,
  type LifecycleConfig, type LifecycleEnvironmentInput, type LifecycleFlagInput,
} from '../../src/domain/lifecycle.js';
import { compileFlag, evaluate } from '../../src/engine/index.js';
import { configArb, contextArb, nowArb, segments } from './engine/arbitraries.js';

const DAY = 86_400_000;
const T = DEFAULT_LIFECYCLE_THRESHOLDS; // new 7, launched 7, stale-launched 30, unused 30
const CREATED = Date.parse('2026-01-01T00:00:00Z');
const at = (days: number) => CREATED + days * DAY;

const on: LifecycleConfig = { enabled: true, value: true, off_value: false, rules: [], targeting: [], kill_switch: { enabled: false } };
const off: LifecycleConfig = { ...on, enabled: false };
const withRule: LifecycleConfig = { ...on, rules: [{ action: 'disable' }] };

function env(environment: string, config: LifecycleConfig, changedDay: number, lastEvaluatedDay: number | null): LifecycleEnvironmentInput {
  return { environment, config, changedAt: at(changedDay), lastEvaluatedAt: lastEvaluatedDay === null ? null : at(lastEvaluatedDay) };
}
function flag(environments: LifecycleEnvironmentInput[], archivedDay: number | null = null): LifecycleFlagInput {
  return { createdAt: CREATED, archivedAt: archivedDay === null ? null : at(archivedDay), environments };
}
const everywhere = (config: LifecycleConfig, changedDay: number, evaluatedDay: number | null) =>
  flag(['development', 'staging', 'production'].map((name) => env(name, config, changedDay, evaluatedDay)));

describe('servingOf: one value to everyone, or why not', () => {
  it.each<[string, LifecycleConfig, unknown]>([
    ['on, nothing diverting', on, true],
    ['off', off, false],
    ['killed while on and diverting', { ...withRule, kill_switch: { enabled: true } }, false],
    ['off with rules (rules do not apply when off)', { ...withRule, enabled: false }, false],
    ['a rule serving the on value', { ...on, rules: [{ action: 'enable' }] }, true],
    ['a targeting rule switched off', { ...on, targeting: [{ enabled: false }] }, true],
    ['a targeting rule to everyone in its segments, on value', { ...on, targeting: [{ percentage: 100 }] }, true],
    ['a rollout at 100 %', { ...on, rollout: { percentage: 100, strategy: 'gradual' } }, true],
    ['a split entirely on one variant', { ...on, split: [{ variant: 'on', weight: 100 }, { variant: 'off', weight: 0 }] }, true],
    ['a partial rollout whose off value equals the on value', { ...on, off_value: true, rollout: { percentage: 10, strategy: 'gradual' } }, true],
  ])('%s: uniform', (_name, config, value) => {
    expect(servingOf(config)).toMatchObject({ uniform: true, value });
  });

  it.each<[string, LifecycleConfig, string]>([
    ['a rule serving the off value', withRule, '1 rule serves another value'],
    ['two override rules', { ...on, rules: [{ action: 'override_value', value: 'x' }, { action: 'override_value', value: 'y' }] }, '2 rules serve another value'],
    ['a rule serving another variant', { ...on, variants: [{ name: 'on', value: 'a' }, { name: 'off', value: 'b' }, { name: 'c', value: 'c' }], on_variant: 'on', off_variant: 'off', value: 'a', off_value: 'b', rules: [{ action: 'serve', variant: 'c' }] }, '1 rule serves another value'],
    ['targeting to the off variant', { ...on, targeting: [{ variant: 'off', percentage: 100 }] }, '1 targeting rule serves another value'],
    ['targeting at 0 % (its segments get the off value)', { ...on, targeting: [{ percentage: 0 }] }, '1 targeting rule serves another value'],
    ['a partial rollout', { ...on, rollout: { percentage: 10, strategy: 'gradual' } }, 'rolls out to 10%'],
    ['a scheduled rollout at 100 %', { ...on, rollout: { percentage: 100, strategy: 'scheduled', start_date: '2026-01-01T00:00:00Z' } }, 'rolls out on a schedule'],
    ['a split across two values', { ...on, split: [{ variant: 'on', weight: 50 }, { variant: 'off', weight: 50 }] }, 'splits traffic across 2 variants'],
  ])('%s: diverts', (_name, config, why) => {
    expect(servingOf(config)).toEqual({ uniform: false, why });
  });

  it('compares JSON values regardless of key order', () => {
    const json: LifecycleConfig = { ...on, value: { a: 1, b: [1, 2] }, off_value: {}, rules: [{ action: 'override_value', value: { b: [1, 2], a: 1 } }] };
    expect(servingOf(json)).toMatchObject({ uniform: true, value: { a: 1, b: [1, 2] } });
  });

  it('needs the same value in every environment', () => {
    expect(servingEverywhere([env('staging', on, 0, 0), env('production', off, 0, 0)])).toEqual({ uniform: false, why: 'environments serve different values' });
    expect(servingEverywhere([env('staging', on, 0, 0), env('production', withRule, 0, 0)])).toEqual({ uniform: false, why: 'in production it 1 rule serves another value' });
    expect(servingEverywhere([])).toEqual({ uniform: false, why: 'has no config in any environment' });
  });
});

describe('deriveLifecycle: every stage and its boundaries', () => {
  it('archived wins over everything, since the archive time', () => {
    expect(deriveLifecycle(flag([env('production', on, 0, 40)], 50), T, at(100))).toMatchObject({ stage: 'archived', since: at(50), reason: 'archived on 2026-02-20' });
  });

  it('new: younger than newDays and not evaluated in production (other environments do not count)', () => {
    const f = flag([env('development', withRule, 0, 1), env('production', withRule, 0, null)]);
    expect(deriveLifecycle(f, T, at(6.99))).toMatchObject({ stage: 'new', since: CREATED, reason: 'created on 2026-01-01, not evaluated in production yet' });
    expect(deriveLifecycle(f, T, at(7)).stage).toBe('active');
  });

  it('not new once evaluated in production, however young', () => {
    expect(deriveLifecycle(flag([env('production', withRule, 0, 0.5)]), T, at(1))).toMatchObject({ stage: 'active', reason: 'last evaluated on 2026-01-01; in production it 1 rule serves another value' });
  });

  it('the production environment is configurable', () => {
    const f = flag([env('prod-eu', withRule, 0, 1), env('production', withRule, 0, null)]);
    expect(deriveLifecycle(f, { ...T, productionEnvironment: 'prod-eu' }, at(2)).stage).toBe('active');
    expect(deriveLifecycle(f, T, at(2)).stage).toBe('new');
  });

  it('stale when not evaluated anywhere for unusedDays, counted from the last evaluation', () => {
    const f = everywhere(withRule, 0, 10);
    expect(deriveLifecycle(f, T, at(39.99)).stage).toBe('active');
    expect(deriveLifecycle(f, T, at(40))).toMatchObject({ stage: 'stale', since: at(40), reason: 'not evaluated in any environment since 2026-01-11 (more than 30 days)' });
  });

  it('stale when never evaluated, counted from creation', () => {
    expect(deriveLifecycle(everywhere(withRule, 0, null), T, at(30))).toMatchObject({ stage: 'stale', since: at(30), reason: 'never evaluated since its creation on 2026-01-01 (more than 30 days)' });
    expect(deriveLifecycle(everywhere(withRule, 0, null), T, at(29)).stage).toBe('active');
  });

  it('one value everywhere: active until launchedDays after the last change, launched until staleLaunchedDays, then stale', () => {
    const f = everywhere(on, 5, 100); // changed on day 5, evaluated up to day 100
    expect(deriveLifecycle(f, T, at(11.9))).toMatchObject({ stage: 'active', since: at(5), reason: 'serves true to everyone in every environment, unchanged since 2026-01-06; launched once unchanged for 7 days' });
    expect(deriveLifecycle(f, T, at(12))).toMatchObject({ stage: 'launched', since: at(12), reason: 'serves true to everyone in every environment, unchanged since 2026-01-06', serves: { variant: 'on', value: true } });
    expect(deriveLifecycle(f, T, at(34.9)).stage).toBe('launched');
    expect(deriveLifecycle(f, T, at(35))).toMatchObject({ stage: 'stale', since: at(35), reason: 'serves true to everyone in every environment, unchanged since 2026-01-06 (more than 30 days): ready to remove' });
  });

  it('a change in any environment restarts the launch clock', () => {
    const f = flag([env('staging', on, 5, 60), env('production', on, 50, 60)]);
    expect(deriveLifecycle(f, T, at(56)).stage).toBe('active');
    expect(deriveLifecycle(f, T, at(57)).stage).toBe('launched');
  });

  it('a flag serving everyone the off value is launched too (it can be removed for its off value)', () => {
    expect(deriveLifecycle(everywhere(off, 0, 20), T, at(20))).toMatchObject({ stage: 'launched', serves: { variant: 'off', value: false } });
  });

  it('never launched while any environment diverts or environments disagree', () => {
    expect(deriveLifecycle(flag([env('staging', on, 0, 50), env('production', withRule, 0, 50)]), T, at(60)).stage).toBe('active');
    expect(deriveLifecycle(flag([env('staging', on, 0, 50), env('production', off, 0, 50)]), T, at(60))).toMatchObject({ stage: 'active', reason: 'last evaluated on 2026-02-20; environments serve different values' });
  });

  it('an evaluation from before the flag existed does not keep it out of stale (the store drops those; creation bounds the quiet time)', () => {
    const f: LifecycleFlagInput = { createdAt: at(10), archivedAt: null, environments: [env('production', withRule, 10, 5)] };
    expect(deriveLifecycle(f, T, at(40)).stage).toBe('stale');
  });
});

// Properties over generated flags: environments with configs from the engine's own generator, change
// and evaluation times around creation, and any `now`.
const configArbLifecycle = configArb as fc.Arbitrary<FlagConfig & LifecycleConfig>;
const envArb = (name: string) => fc.record({
  environment: fc.constant(name),
  config: fc.oneof(configArbLifecycle, fc.constant(on), fc.constant(off)),
  changedAt: fc.integer({ min: 0, max: 60 }).map(at),
  lastEvaluatedAt: fc.option(fc.integer({ min: 0, max: 60 * 24 }).map((h) => CREATED + h * 3_600_000), { nil: null }),
});
const flagArb: fc.Arbitrary<LifecycleFlagInput> = fc.record({
  createdAt: fc.constant(CREATED),
  archivedAt: fc.option(fc.integer({ min: 0, max: 60 }).map(at), { nil: null }),
  environments: fc.tuple(envArb('staging'), envArb('production')).map((envs) => [...envs]),
});
const thresholdsArb = fc.record({
  newDays: fc.integer({ min: 0, max: 20 }), launchedDays: fc.integer({ min: 0, max: 20 }), extra: fc.integer({ min: 0, max: 40 }), unusedDays: fc.integer({ min: 1, max: 40 }),
}).map(({ extra, ...t }) => ({ ...t, staleLaunchedDays: t.launchedDays + extra, productionEnvironment: 'production' }));
const dayArb = fc.integer({ min: 0, max: 200 * 24 }).map((h) => CREATED + h * 3_600_000);

describe('deriveLifecycle properties', () => {
  it('always answers a stage with a reason, since no later than now', () => {
    fc.assert(fc.property(flagArb, thresholdsArb, dayArb, (f, t, day) => {
      const now = Math.max(day, f.archivedAt ?? 0, ...f.environments.map((e) => Math.max(e.changedAt, e.lastEvaluatedAt ?? 0)));
      const lifecycle = deriveLifecycle(f, t, now);
      expect(lifecycle.reason.length).toBeGreaterThan(0);
      expect(lifecycle.since).toBeLessThanOrEqual(now);
    }), { numRuns: 1000 });
  });

  it('moves only forward while nothing happens: new → active → launched → stale, never back', () => {
    fc.assert(fc.property(flagArb.map((f) => ({ ...f, archivedAt: null })), thresholdsArb, dayArb, dayArb, (f, t, a, b) => {
      const start = Math.max(CREATED + 60 * DAY, Math.min(a, b)); // after every change and evaluation
      expect(stageRank(deriveLifecycle(f, t, start).stage)).toBeLessThanOrEqual(stageRank(deriveLifecycle(f, t, Math.max(a, b, start)).stage));
    }), { numRuns: 1000 });
  });

  it('an evaluation in production just now means neither new nor stale for lack of use', () => {
    fc.assert(fc.property(flagArb.map((f) => ({ ...f, archivedAt: null })), thresholdsArb, dayArb, (f, t, day) => {
      const now = Math.max(day, CREATED + 60 * DAY);
      const fresh = { ...f, environments: f.environments.map((e) => (e.environment === 'production' ? { ...e, lastEvaluatedAt: now } : e)) };
      const lifecycle = deriveLifecycle(fresh, t, now);
      expect(lifecycle.stage).not.toBe('new');
      if (lifecycle.stage === 'stale') expect(lifecycle.reason).toContain('ready to remove');
    }), { numRuns: 1000 });
  });

  it('launched means one value everywhere, and the engine serves exactly that value to every context', () => {
    let checked = 0;
    fc.assert(fc.property(configArbLifecycle, fc.array(contextArb, { minLength: 1, maxLength: 10 }), nowArb, (config, contexts, now) => {
      const serving = servingOf(config);
      // Only uniform configs are checked; fast-check counts numRuns among them (too many skips fail the run).
      fc.pre(serving.uniform);
      checked++;
      const compiled = compileFlag({ key: 'lifecycle-prop', type: 'string', environment: 'production', version: 1, config }, segments);
      for (const context of contexts) {
        const result = evaluate(compiled, context, now);
        if (result.reason === 'ERROR') continue; // a context the engine refuses serves no value at all
        expect(result.value).toEqual(serving.value);
      }
      const f = flag([env('staging', config, 0, 50), env('production', config, 0, 50)]);
      expect(deriveLifecycle(f, T, at(50)).stage).toBe('stale');
    }), { numRuns: 2000 });
    expect(checked).toBeGreaterThanOrEqual(2000);
  });

  it('a config that diverts is never launched', () => {
    let checked = 0;
    fc.assert(fc.property(configArbLifecycle, dayArb, (config, now) => {
      fc.pre(!servingOf(config).uniform);
      checked++;
      const f = flag([env('staging', on, 0, 59), env('production', config, 0, 59)]);
      expect(deriveLifecycle(f, T, Math.max(now, at(60))).stage).not.toBe('launched');
    }), { numRuns: 1000 });
    expect(checked).toBeGreaterThanOrEqual(1000);
  });
});

describe('isoWeek', () => {
  it.each([
    ['2026-11-29T23:59:59Z', '2026-W48'], // a Sunday ends its week
    ['2026-11-30T00:00:00Z', '2026-W49'], // Monday starts the next
    ['2021-01-03T12:00:00Z', '2020-W53'], // early January in the previous year's last week
    ['2024-12-30T00:00:00Z', '2025-W01'], // late December in the next year's first week
    ['2026-01-01T00:00:00Z', '2026-W01'],
  ])('%s is in %s', (instant, week) => {
    expect(isoWeek(Date.parse(instant))).toBe(week);
  });
});
