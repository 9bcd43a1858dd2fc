import { describe, expect, it } from 'vitest';
import { describePlan, rolloutPlanSchema, scheduleOf } from '../../src/domain/rollout-plan.js';

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
