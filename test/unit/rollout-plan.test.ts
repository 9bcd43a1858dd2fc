import { describe, expect, it } from 'vitest';
import { describePlan, movedShare, rolloutPlanSchema, scheduleOf, treatedVariants } from '../../src/domain/rollout-plan.js';

const parse = (plan: unknown) => rolloutPlanSchema.parse(plan);
const issuesOf = (plan: unknown) => {
  const result = rolloutPlanSchema.safeParse(plan);
  return result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
};

describe('rollout plan', () => {
  it('schedules an immediate rollout as one step', () => {
    expect(scheduleOf(parse({ strategy: 'immediate', percentage: 40 }))).toEqual([{ percentage: 40, approval: false }]);
  });

  it('schedules a time-boxed rollout: on at start_date, off at end_date', () => {
    const plan = parse({ strategy: 'scheduled', percentage: 100, start_date: '2026-12-01T09:00:00Z', end_date: '2026-12-02T09:00:00Z' });
    expect(scheduleOf(plan)).toEqual([
      { percentage: 100, at: Date.parse('2026-12-01T09:00:00Z'), approval: false },
      { percentage: 'off', at: Date.parse('2026-12-02T09:00:00Z'), approval: false },
    ]);
  });

  it('keeps gradual steps with their holds and approval gates', () => {
    const plan = parse({
      strategy: 'gradual',
      steps: [{ percentage: 1, hold: '1 hour' }, { percentage: 25, hold: 90_000, approval: true }, { percentage: 100 }],
    });
    expect(scheduleOf(plan)).toEqual([
      { percentage: 1, holdMs: 3_600_000, approval: false },
      { percentage: 25, holdMs: 90_000, approval: true },
      { percentage: 100, approval: false },
    ]);
  });

  it('spreads a linear rollout evenly from start_date to end_date', () => {
    const plan = parse({ strategy: 'gradual', linear: { start_date: '2026-12-01T00:00:00Z', end_date: '2026-12-01T03:00:00Z', steps: 4 } });
    const start = Date.parse('2026-12-01T00:00:00Z');
    expect(scheduleOf(plan)).toEqual([
      { percentage: 25, at: start, approval: false },
      { percentage: 50, at: start + 3_600_000, approval: false },
      { percentage: 75, at: start + 7_200_000, approval: false },
      { percentage: 100, at: start + 10_800_000, approval: false },
    ]);
  });

  it('applies defaults to guards and approval timeouts', () => {
    const plan = parse({ strategy: 'immediate', percentage: 5, guard: { source: 'events', max_error_rate: 0.05 } });
    expect(plan.guard).toEqual({ source: 'events', max_error_rate: 0.05, min_samples: 100, interval: '1 minute', action: 'rollback' });
    expect(plan.approval_timeout).toBe('24 hours');
    expect(describePlan(plan)).toBe('immediate: 5%, guarded by events (rollback)');
  });

  it.each([
    [{ strategy: 'sometime', percentage: 5 }, 'strategy'],
    [{ strategy: 'immediate', percentage: 101 }, 'percentage'],
    [{ strategy: 'immediate', percentage: 1.23456 }, 'percentage'],
    [{ strategy: 'scheduled', percentage: 5 }, 'start_date'],
    [{ strategy: 'scheduled', percentage: 5, start_date: '2026-12-02T00:00:00Z', end_date: '2026-12-01T00:00:00Z' }, 'end_date'],
    [{ strategy: 'gradual' }, 'steps'],
    [{ strategy: 'gradual', steps: [{ percentage: 50 }, { percentage: 10 }] }, 'steps.1.percentage'],
    [{ strategy: 'gradual', steps: [{ percentage: 5, hold: 'forever' }] }, 'steps.0.hold'],
    [{ strategy: 'gradual', steps: [{ percentage: 5, hold: -1 }] }, 'steps.0.hold'],
    [{ strategy: 'gradual', linear: { start_date: '2026-12-01T00:00:00Z', end_date: '2026-12-01T00:00:00Z', steps: 3 } }, 'linear.end_date'],
    [{ strategy: 'immediate', percentage: 5, guard: { source: 'events' } }, 'guard'],
    [{ strategy: 'immediate', percentage: 5, guard: { source: 'prometheus', threshold: 1 } }, 'guard.query'],
    [{ strategy: 'immediate', percentage: 5, typo: true }, ''],
  ])('refuses %j, naming %s', (plan, path) => {
    expect(issuesOf(plan)).toContain(path);
  });
});

describe('split rollout plan', () => {
  const steps = [
    { split: [{ variant: 'compact', weight: 20 }, { variant: 'control', weight: 80 }], hold: '1 day', approval: true },
    { split: [{ variant: 'compact', weight: 30 }, { variant: 'wide', weight: 20 }, { variant: 'control', weight: 50 }] },
  ];

  it('schedules one split step per plan step, with holds and approvals', () => {
    const plan = parse({ strategy: 'split', steps });
    expect(scheduleOf(plan)).toEqual([
      { split: steps[0]!.split, approval: true, holdMs: 86_400_000 },
      { split: steps[1]!.split, approval: false },
    ]);
    expect(describePlan(plan)).toBe('split: compact 20 / control 80 → compact 30 / wide 20 / control 50');
  });

  it.each([
    [[{ split: [{ variant: 'compact', weight: 20 }, { variant: 'control', weight: 70 }] }], 'steps.0.split', 'the weights add up to 90, not 100'],
    [[steps[0], { split: [{ variant: 'wide', weight: 50 }, { variant: 'wide', weight: 50 }] }], 'steps.1.split.1.variant', "variant 'wide' appears twice in the split"],
    [[{ split: [{ variant: 'compact', weight: 100.5 }] }], 'steps.0.split.0.weight', 'a percentage from 0 to 100: not above 100'],
    [[{ split: [] }], 'steps.0.split', undefined],
    [[{ percentage: 20 }], 'steps.0.split', undefined],
  ])('refuses steps %j at %s', (bad, path, message) => {
    const result = rolloutPlanSchema.safeParse({ strategy: 'split', steps: bad });
    expect(result.success).toBe(false);
    const issue = result.error!.issues.find((i) => i.path.join('.') === path);
    expect(issue, JSON.stringify(result.error!.issues)).toBeDefined();
    if (message) expect(issue!.message).toBe(message);
  });

  it('measures the traffic a split moves and names the variants it moves traffic to', () => {
    const start = [{ variant: 'control', weight: 100 }];
    expect(movedShare(start, steps[0]!.split)).toBe(20);
    expect(movedShare(start, steps[1]!.split)).toBe(50);
    expect(treatedVariants(start, steps[1]!.split)).toEqual(['compact', 'wide']);
    // From a split that already served compact 30, only what grows is treated.
    const fromSplit = [{ variant: 'compact', weight: 30 }, { variant: 'control', weight: 70 }];
    expect(treatedVariants(fromSplit, steps[1]!.split)).toEqual(['wide']);
    expect(movedShare(fromSplit, steps[1]!.split)).toBe(20);
  });
});
