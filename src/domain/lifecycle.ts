import { resolveVariants, sameJson, type VariantFields } from './variants.js';

/**
 * Flag lifecycle: where a flag stands between creation and removal, derived from
 * its configs and from real evaluation data. Pure: everything it needs, `now` included, is passed in.
 *
 *   new       created less than `newDays` ago and never evaluated in production
 *   active    evaluated, and its configs divert traffic (rules, targeting, split, a partial rollout),
 *             differ between environments, or changed less than `launchedDays` ago
 *   launched  one value to everyone in every environment, unchanged for `launchedDays`
 *   stale     launched for `staleLaunchedDays`, or not evaluated anywhere for `unusedDays`
 *   archived  archived
 */
export const LIFECYCLE_STAGES = ['new', 'active', 'launched', 'stale', 'archived'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export interface LifecycleThresholds {
  /** A flag is new this long after creation, unless evaluated in production. */
  newDays: number;
  /** One value everywhere for this long, unchanged: launched. */
  launchedDays: number;
  /** One value everywhere for this long, unchanged: stale (ready to remove). At least launchedDays. */
  staleLaunchedDays: number;
  /** Not evaluated in any environment for this long: stale. */
  unusedDays: number;
  /** The environment whose evaluations end a flag's `new` stage. */
  productionEnvironment: string;
}

export const DEFAULT_LIFECYCLE_THRESHOLDS: LifecycleThresholds = {
  newDays: 7, launchedDays: 7, staleLaunchedDays: 30, unusedDays: 30, productionEnvironment: 'production',
};

/** The parts of a stored config the lifecycle reads. */
export interface LifecycleConfig extends VariantFields {
  enabled: boolean;
  rules: ReadonlyArray<{ action: string; variant?: string | undefined; value?: unknown }>;
  targeting: ReadonlyArray<{ variant?: string | undefined; enabled?: boolean; percentage?: number }>;
  rollout?: { percentage: number; strategy: string; start_date?: string | null; end_date?: string | null } | null;
  kill_switch: { enabled: boolean };
}

/** What one environment's config serves: one value to everyone, or why not. */
export type Serving =
  | { uniform: true; variant: string; value: unknown }
  | { uniform: false; why: string };

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Whether a config serves one value to every context, and which. Conservative: it answers uniform only
 * when no rule, targeting rule, split slice or rollout could serve a different value to anyone (a rule
 * serving the same value as the default does not count).
 */
export function servingOf(config: LifecycleConfig): Serving {
  const { variants, on, off } = resolveVariants(config);
  const valueOf = (name: string) => variants.get(name);
  if (config.kill_switch.enabled) return { uniform: true, variant: off, value: valueOf(off) };
  if (!config.enabled) return { uniform: true, variant: off, value: valueOf(off) };

  // The default: the on variant, or the split's slices.
  const slices = (config.split ?? []).filter((slice) => slice.weight > 0);
  let base: { variant: string; value: unknown } = { variant: on, value: valueOf(on) };
  if (slices.length > 0) {
    const first = slices[0]!;
    if (slices.some((slice) => !sameJson(valueOf(slice.variant), valueOf(first.variant)))) {
      return { uniform: false, why: `splits traffic across ${plural(new Set(slices.map((s) => s.variant)).size, 'variant')}` };
    }
    base = { variant: first.variant, value: valueOf(first.variant) };
  }
  const differs = (value: unknown) => !sameJson(value, base.value);

  const divertingRules = config.rules.filter((rule) => differs(
    rule.action === 'enable' ? valueOf(on)
      : rule.action === 'disable' ? valueOf(off)
        : rule.action === 'serve' ? valueOf(rule.variant ?? on)
          : rule.value,
  )).length;
  if (divertingRules > 0) return { uniform: false, why: `${plural(divertingRules, 'rule')} serve${divertingRules === 1 ? 's' : ''} another value` };

  // A user in a targeting rule's segments gets its variant inside its percentage, the off variant outside.
  const divertingTargeting = config.targeting.filter((t) => {
    const percentage = t.percentage ?? 100;
    return t.enabled !== false && ((percentage > 0 && differs(valueOf(t.variant ?? on))) || (percentage < 100 && differs(valueOf(off))));
  }).length;
  if (divertingTargeting > 0) return { uniform: false, why: `${plural(divertingTargeting, 'targeting rule')} serve${divertingTargeting === 1 ? 's' : ''} another value` };

  // Outside a rollout's percentage (or its dates) users get the off variant.
  const rollout = config.rollout;
  if (rollout && (rollout.percentage < 100 || rollout.strategy === 'scheduled' || rollout.start_date || rollout.end_date) && differs(valueOf(off))) {
    return { uniform: false, why: rollout.percentage < 100 ? `rolls out to ${rollout.percentage}%` : 'rolls out on a schedule' };
  }
  return { uniform: true, ...base };
}

/** A flag's state in one environment, as the lifecycle reads it. */
export interface LifecycleEnvironmentInput {
  environment: string;
  config: LifecycleConfig;
  /** Epoch ms of the config's last change. */
  changedAt: number;
  /** Epoch ms of the last evaluation recorded there; null: never. */
  lastEvaluatedAt: number | null;
}

export interface LifecycleFlagInput {
  createdAt: number;
  archivedAt: number | null;
  environments: readonly LifecycleEnvironmentInput[];
}

export interface Lifecycle {
  stage: LifecycleStage;
  /** Epoch ms since when the flag is in this stage (for `active`: its last config change or creation). */
  since: number;
  /** Why, in words. */
  reason: string;
  /** The one value served everywhere, when there is one. */
  serves: { variant: string; value: unknown } | null;
}

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const days = (n: number) => plural(n, 'day');
const show = (value: unknown) => {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/**
 * One value served to everyone in every environment (the same value everywhere), or why not.
 * No environment at all: nothing is served.
 */
export function servingEverywhere(environments: readonly LifecycleEnvironmentInput[]): Serving {
  if (environments.length === 0) return { uniform: false, why: 'has no config in any environment' };
  let common: { variant: string; value: unknown } | undefined;
  for (const env of environments) {
    const serving = servingOf(env.config);
    if (!serving.uniform) return { uniform: false, why: `in ${env.environment} it ${serving.why}` };
    if (common && !sameJson(common.value, serving.value)) return { uniform: false, why: 'environments serve different values' };
    common ??= { variant: serving.variant, value: serving.value };
  }
  return { uniform: true, ...common! };
}

/** The lifecycle stage of a flag at `now` (epoch ms). */
export function deriveLifecycle(flag: LifecycleFlagInput, thresholds: LifecycleThresholds, now: number): Lifecycle {
  const everywhere = servingEverywhere(flag.environments);
  const serves = everywhere.uniform ? { variant: everywhere.variant, value: everywhere.value } : null;
  if (flag.archivedAt !== null) return { stage: 'archived', since: flag.archivedAt, reason: `archived on ${day(flag.archivedAt)}`, serves };

  const production = flag.environments.find((env) => env.environment === thresholds.productionEnvironment);
  const evaluations = flag.environments.map((env) => env.lastEvaluatedAt).filter((at): at is number => at !== null);
  const lastEvaluated = evaluations.length > 0 ? Math.max(...evaluations) : null;

  if (!production?.lastEvaluatedAt && now - flag.createdAt < thresholds.newDays * DAY) {
    return { stage: 'new', since: flag.createdAt, reason: `created on ${day(flag.createdAt)}, not evaluated in ${thresholds.productionEnvironment} yet`, serves };
  }

  // Quiet since the last evaluation anywhere, or since creation when there never was one.
  const quietFrom = Math.max(lastEvaluated ?? flag.createdAt, flag.createdAt);
  if (now - quietFrom >= thresholds.unusedDays * DAY) {
    return {
      stage: 'stale', since: quietFrom + thresholds.unusedDays * DAY, serves,
      reason: lastEvaluated === null
        ? `never evaluated since its creation on ${day(flag.createdAt)} (more than ${days(thresholds.unusedDays)})`
        : `not evaluated in any environment since ${day(lastEvaluated)} (more than ${days(thresholds.unusedDays)})`,
    };
  }

  const changedAt = Math.max(flag.createdAt, ...flag.environments.map((env) => env.changedAt));
  if (serves) {
    const held = now - changedAt;
    const what = `serves ${show(serves.value)} to everyone in every environment, unchanged since ${day(changedAt)}`;
    if (held >= thresholds.staleLaunchedDays * DAY) {
      return { stage: 'stale', since: changedAt + thresholds.staleLaunchedDays * DAY, reason: `${what} (more than ${days(thresholds.staleLaunchedDays)}): ready to remove`, serves };
    }
    if (held >= thresholds.launchedDays * DAY) {
      return { stage: 'launched', since: changedAt + thresholds.launchedDays * DAY, reason: what, serves };
    }
    return { stage: 'active', since: changedAt, reason: `${what}; launched once unchanged for ${days(thresholds.launchedDays)}`, serves };
  }
  const why = everywhere.uniform ? '' : everywhere.why;
  const evaluated = lastEvaluated === null ? 'not evaluated yet' : `last evaluated on ${day(lastEvaluated)}`;
  return { stage: 'active', since: changedAt, reason: `${evaluated}; ${why}`, serves };
}

/** Rank of a stage along a flag's life (archived last), for ordering and for tests. */
export const stageRank = (stage: LifecycleStage) => LIFECYCLE_STAGES.indexOf(stage);

/** The ISO 8601 week of an instant (UTC), e.g. `2026-W48`: the lifecycle digest's idempotency period. */
export function isoWeek(ms: number): string {
  const date = new Date(ms);
  // The week's Thursday decides its year (ISO 8601).
  const thursday = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 3 - ((date.getUTCDay() + 6) % 7));
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY));
  return `${year}-W${String(week).padStart(2, '0')}`;
}
