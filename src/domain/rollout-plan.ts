import { z } from 'zod';
import ms, { type StringValue } from 'ms';
import { text } from './text.js';
import { percentageSchema, splitSchema, thousandths, type SplitEntry } from './variants.js';

/** Milliseconds of a duration such as "30 minutes", "2h", "1 day" or a number of milliseconds. */
export function durationMs(value: string | number): number {
  if (typeof value === 'number') return value;
  // The same parser Temporal's SDK reads durations with, so a plan's hold means what a workflow timer does.
  const millis = ms(value as StringValue);
  if (Number.isNaN(millis)) throw new TypeError(`Invalid duration string: '${value}'`);
  return millis;
}

export const duration = z.union([text(40), z.number().int()]).refine((value) => {
  try {
    const ms = durationMs(value);
    return Number.isFinite(ms) && ms > 0 && ms <= 366 * 24 * 3600_000;
  } catch {
    return false;
  }
}, 'a positive duration of at most a year, such as "30 minutes", "2h", "1 day"')
  // For the OpenAPI document: a subset the refinement always accepts (at most 359 of a unit, or milliseconds up to a year).
  .meta({
    anyOf: [
      { type: 'string', pattern: '^(?:[1-9]\\d?|[12]\\d\\d|3[0-5]\\d) ?(?:ms|s|m|h|d|seconds?|minutes?|hours?|days?)$' },
      { type: 'integer', minimum: 1, maximum: 366 * 24 * 3600_000 },
    ],
  });

const isoDateTime = z.iso.datetime({ offset: true });

const stepSchema = z.strictObject({
  percentage: percentageSchema,
  /** How long to stay at this percentage before the next step. */
  hold: duration.optional(),
  /** Wait for an approval before applying this step. */
  approval: z.boolean().optional(),
});

/** A step of a split rollout: the weighted split it sets (every variant named at most once, weights adding up to 100). */
const splitStepSchema = z.strictObject({
  split: splitSchema,
  /** How long to stay at this split before the next step. */
  hold: duration.optional(),
  /** Wait for an approval before applying this step. */
  approval: z.boolean().optional(),
});

/**
 * The problems of a split's weights and names as zod issues under `path` (the config's own check,
 * checkVariants, says the same of a config; the variants' existence is checked against the config at start).
 */
export function checkSplitWeights(split: readonly SplitEntry[], ctx: z.RefinementCtx, path: PropertyKey[]): void {
  const seen = new Set<string>();
  split.forEach((entry, i) => {
    if (seen.has(entry.variant)) ctx.addIssue({ code: 'custom', path: [...path, i, 'variant'], message: `variant '${entry.variant}' appears twice in the split` });
    seen.add(entry.variant);
  });
  const total = split.reduce((sum, entry) => sum + thousandths(entry.weight), 0);
  if (total !== 100_000) ctx.addIssue({ code: 'custom', path, message: `the weights add up to ${total / 1000}, not 100` });
}

const guardCommon = {
  /** How often to read the metric. */
  interval: duration.default('1 minute'),
  /** What a breach does: percentage to 0, or the flag's kill switch. */
  action: z.enum(['rollback', 'kill']).default('rollback'),
};

/** Health check of a rollout; a breach rolls it back even while it waits for an approval. */
export const guardSchema = z.discriminatedUnion('source', [
  z.strictObject({
    /** Error rates from outcomes reported to POST /api/v1/events: treated (variant ≠ off) vs untreated. */
    source: z.literal('events'),
    max_error_rate: z.number().min(0).max(1).optional(),
    max_error_rate_increase: z.number().min(0).max(1).optional(),
    min_samples: z.number().int().min(1).max(1_000_000).default(100),
    ...guardCommon,
  }).meta({ anyOf: [{ required: ['max_error_rate'] }, { required: ['max_error_rate_increase'] }] }),
  z.strictObject({
    /** A Prometheus instant query (PROMETHEUS_URL) compared with a threshold. */
    source: z.literal('prometheus'),
    query: text(2000).min(1),
    threshold: z.number(),
    comparison: z.enum(['above', 'below']).default('above'),
    ...guardCommon,
  }),
]);
export type Guard = z.infer<typeof guardSchema>;

const common = {
  guard: guardSchema.optional(),
  /** How long an approval gate waits before the rollout pauses. */
  approval_timeout: duration.default('24 hours'),
};

export const rolloutPlanSchema = z
  .discriminatedUnion('strategy', [
    z.strictObject({ strategy: z.literal('immediate'), percentage: percentageSchema, ...common }),
    z.strictObject({
      strategy: z.literal('scheduled'),
      percentage: percentageSchema,
      start_date: isoDateTime,
      end_date: isoDateTime.optional(),
      ...common,
    }),
    z.strictObject({
      strategy: z.literal('gradual'),
      steps: z.array(stepSchema).min(1).max(50).optional(),
      linear: z
        .strictObject({
          start_date: isoDateTime,
          end_date: isoDateTime,
          steps: z.number().int().min(2).max(100),
          from: percentageSchema.default(0),
          to: percentageSchema.default(100),
        })
        .optional(),
      ...common,
    }).meta({ oneOf: [{ required: ['steps'] }, { required: ['linear'] }] }),
    /** Moves weight between variants: each step sets the config's weighted split (see docs/rollouts.md, "Variants and weighted rollouts"). */
    z.strictObject({ strategy: z.literal('split'), steps: z.array(splitStepSchema).min(1).max(50), ...common }),
  ])
  .superRefine((plan, ctx) => {
    if (plan.strategy === 'scheduled' && plan.end_date && Date.parse(plan.end_date) <= Date.parse(plan.start_date)) {
      ctx.addIssue({ code: 'custom', path: ['end_date'], message: 'end_date must be after start_date' });
    }
    if (plan.strategy === 'gradual') {
      if (Boolean(plan.steps) === Boolean(plan.linear)) {
        ctx.addIssue({ code: 'custom', path: ['steps'], message: 'a gradual rollout takes either steps or linear' });
      }
      plan.steps?.forEach((step, i) => {
        if (i > 0 && step.percentage < plan.steps![i - 1]!.percentage) {
          ctx.addIssue({ code: 'custom', path: ['steps', i, 'percentage'], message: 'percentages must not decrease' });
        }
      });
      if (plan.linear && Date.parse(plan.linear.end_date) <= Date.parse(plan.linear.start_date)) {
        ctx.addIssue({ code: 'custom', path: ['linear', 'end_date'], message: 'end_date must be after start_date' });
      }
    }
    if (plan.strategy === 'split') plan.steps.forEach((step, i) => checkSplitWeights(step.split, ctx, ['steps', i, 'split']));
    if (plan.guard?.source === 'events' && plan.guard.max_error_rate === undefined && plan.guard.max_error_rate_increase === undefined) {
      ctx.addIssue({ code: 'custom', path: ['guard'], message: 'an events guard needs max_error_rate or max_error_rate_increase' });
    }
  });
export type RolloutPlan = z.infer<typeof rolloutPlanSchema>;

/** What every executable step has: when it may apply, how long it holds, whether it waits for an approval. */
interface StepTiming {
  /** Epoch ms before which the step must not be applied. */
  at?: number;
  holdMs?: number;
  approval: boolean;
}

/** One executable step: at a time (or after the previous hold), set a percentage or turn the flag off… */
export interface PercentageStep extends StepTiming {
  percentage: number | 'off';
  split?: undefined;
}

/** …or set a weighted split across variants (plans of strategy `split`). */
export interface SplitStep extends StepTiming {
  split: SplitEntry[];
  percentage?: undefined;
}

export type ScheduleStep = PercentageStep | SplitStep;

/** A split for people: "control 80 / compact 20". */
export function describeSplit(split: readonly SplitEntry[]): string {
  return split.map((e) => `${e.variant} ${e.weight}`).join(' / ');
}

/** What a step sets, for people: "20%", "off" or "control 80 / compact 20". */
export function describeStepTarget(step: ScheduleStep): string {
  if (step.split) return describeSplit(step.split);
  return step.percentage === 'off' ? 'off' : `${step.percentage}%`;
}

/**
 * The traffic a split moves relative to the split the rollout started from: the sum of what each
 * variant gained, in percent (control 100 → control 80 / compact 20 moves 20).
 */
export function movedShare(start: readonly SplitEntry[], now: readonly SplitEntry[]): number {
  const before = new Map(start.map((e) => [e.variant, thousandths(e.weight)]));
  const gained = now.reduce((sum, e) => sum + Math.max(0, thousandths(e.weight) - (before.get(e.variant) ?? 0)), 0);
  return gained / 1000;
}

/**
 * The treated cohort of a split step for an events guard: the variants the step moves traffic to
 * (their weight is above the starting split's); every other variant is the untreated cohort.
 */
export function treatedVariants(start: readonly SplitEntry[], now: readonly SplitEntry[]): string[] {
  const before = new Map(start.map((e) => [e.variant, thousandths(e.weight)]));
  return now.filter((e) => thousandths(e.weight) > (before.get(e.variant) ?? 0)).map((e) => e.variant);
}

const round3 = (p: number) => Math.round(p * 1000) / 1000;

/** Turns a plan into the steps the workflow executes; pure, so the workflow can call it deterministically. */
export function scheduleOf(plan: RolloutPlan): ScheduleStep[] {
  switch (plan.strategy) {
    case 'immediate':
      return [{ percentage: plan.percentage, approval: false }];
    case 'scheduled':
      return [
        { percentage: plan.percentage, at: Date.parse(plan.start_date), approval: false },
        ...(plan.end_date ? [{ percentage: 'off' as const, at: Date.parse(plan.end_date), approval: false }] : []),
      ];
    case 'gradual': {
      if (plan.steps) {
        return plan.steps.map((step) => ({
          percentage: step.percentage,
          approval: step.approval ?? false,
          ...(step.hold === undefined ? {} : { holdMs: durationMs(step.hold) }),
        }));
      }
      const { start_date, end_date, steps, from, to } = plan.linear!;
      const start = Date.parse(start_date);
      const span = Date.parse(end_date) - start;
      return Array.from({ length: steps }, (_, i) => ({
        percentage: round3(from + ((to - from) * (i + 1)) / steps),
        at: start + Math.round((span * i) / (steps - 1)),
        approval: false,
      }));
    }
    case 'split':
      return plan.steps.map((step) => ({
        split: step.split,
        approval: step.approval ?? false,
        ...(step.hold === undefined ? {} : { holdMs: durationMs(step.hold) }),
      }));
  }
}

/** A one-line summary for the workflow memo and the UI. */
export function describePlan(plan: RolloutPlan): string {
  const steps = scheduleOf(plan).map(describeStepTarget);
  const guard = plan.guard ? `, guarded by ${plan.guard.source} (${plan.guard.action})` : '';
  return `${plan.strategy}: ${steps.join(' → ')}${guard}`;
}

/** What one reporter (`token:<id>` or `user:<id>`) contributed to the treated cohort of a guard's window. */
export interface ReporterShare {
  reporter: string;
  /** As reported. */
  samples: number;
  errors: number;
  /** As counted after the per-reporter cap (errors scaled with samples, so the reporter's own rate is kept). */
  countedSamples: number;
  countedErrors: number;
}

/** One reading of a rollout's health metric, kept in the workflow's progress. */
export interface GuardReading {
  at: string;
  source: Guard['source'];
  breached: boolean;
  /** Why it breached, or why it could not judge yet. */
  detail: string;
  value?: number;
  treatedErrorRate?: number;
  untreatedErrorRate?: number;
  samples?: { treated: number; untreated: number };
  /** Events guards: whose errors the treated rate counts, most first; a breach names them. */
  reporters?: ReporterShare[];
}
