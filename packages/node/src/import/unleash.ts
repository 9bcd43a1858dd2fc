import type { Condition, Operator } from '../../../../src/domain/flag.js';
import { conditionValueProblem } from '../../../../src/domain/flag.js';
import type { FlagEntry, RuleEntry } from '../flags-as-code/flags-file.js';
import { canonicalFlag } from '../flags-as-code/flags-file.js';
import { checkKey, checkVariantName, emptyFile, Unmappable, type Cohorts, type FlagReport, type ImportResult } from './import-report.js';

/**
 * Unleash → a flags file. Reads the environment export (`POST /api/admin/features-batch/export`:
 * features, featureStrategies, featureEnvironments, segments) or the client API's answer
 * (`GET /api/client/features`: features with their strategies, and segments).
 *
 * Unleash's context maps onto Ripcord's as `userId` → `targetingKey` and every other field (its
 * `properties` included) by name. A toggle is on for a user when any of its strategies is: each
 * strategy becomes rules in order (one per alternative of its constraints, which are ANDed, a
 * constraint's several values ORed), `enable` when matched; a percentage strategy is a percentage
 * rule; and a rollout of 0 % catches the rest, so a user no strategy enables gets the off variant.
 *
 * Cohorts: Unleash buckets by murmur3(`groupId:stickiness`) mod 100 + 1 (unleash-client's
 * normalizedStrategyValue). The imported config asks the engine for the same buckets
 * (`bucketing: {scheme: unleash, group_id}`, src/domain/bucketing.ts), so partial rollouts keep
 * their users when every partial strategy of the toggle shares one groupId and sticks to userId;
 * otherwise (several groups, another stickiness) the share is kept but not the users.
 */

interface Constraint { contextName: string; operator: string; values?: string[]; value?: string; inverted?: boolean; caseInsensitive?: boolean }
interface Strategy { name: string; parameters?: Record<string, string>; constraints?: Constraint[]; segments?: number[]; variants?: Array<{ name: string; weight: number; payload?: { type: string; value: string } }>; disabled?: boolean | null; sortOrder?: number }
interface Toggle { name: string; enabled: boolean; strategies: Strategy[]; variants: Array<{ name: string; weight: number; payload?: { type: string; value: string }; stickiness?: string }> }

const MAX_ALTERNATIVES = 50;

/** The context field a constraint reads, in Ripcord's context. */
function fieldOf(contextName: string): string {
  if (contextName === 'currentTime') throw new Unmappable('constraints on currentTime (Unleash\'s clock) have no Ripcord condition');
  return contextName === 'userId' ? 'targetingKey' : contextName;
}

function condition(field: string, operator: Operator, value: unknown): Condition {
  const problem = conditionValueProblem(operator, value);
  if (problem) throw new Unmappable(`${operator} on ${field}: ${problem}`);
  return { field, operator, value };
}

const NUMERIC: Record<string, Operator> = { NUM_EQ: 'equals', NUM_GT: 'greater_than', NUM_GTE: 'greater_or_equal', NUM_LT: 'less_than', NUM_LTE: 'less_or_equal' };
const SEMVER: Record<string, Operator> = { SEMVER_EQ: 'semver_equals', SEMVER_GT: 'semver_greater_than', SEMVER_LT: 'semver_less_than' };
const STRING: Record<string, Operator> = { STR_CONTAINS: 'contains', STR_STARTS_WITH: 'starts_with', STR_ENDS_WITH: 'ends_with' };

/** A constraint as alternatives (its values ORed), each one condition. */
function constraintAlternatives(c: Constraint, notes: Set<string>): Condition[][] {
  const field = fieldOf(c.contextName);
  const values = (c.values ?? []).filter((v) => v !== '');
  if (c.caseInsensitive && STRING[c.operator]) throw new Unmappable(`case-insensitive ${c.operator} on ${c.contextName} has no Ripcord condition`);
  if (c.operator === 'IN' || c.operator === 'NOT_IN') {
    const positive = (c.operator === 'IN') !== Boolean(c.inverted);
    if (!positive) notes.add(`NOT_IN on ${c.contextName} also matches a context without ${c.contextName} in Unleash; in Ripcord it doesn't`);
    return [[condition(field, positive ? 'in' : 'not_in', values)]];
  }
  if (c.inverted) throw new Unmappable(`inverted ${c.operator} has no Ripcord condition`);
  if (STRING[c.operator]) return values.map((v) => [condition(field, STRING[c.operator]!, v)]);
  if (NUMERIC[c.operator]) {
    notes.add(`${c.operator} on ${c.contextName} reads text as a number in Unleash; Ripcord needs a number in the context`);
    return [[condition(field, NUMERIC[c.operator]!, Number(c.value))]];
  }
  if (SEMVER[c.operator]) return [[condition(field, SEMVER[c.operator]!, c.value)]];
  throw new Unmappable(`the constraint operator ${c.operator} has no Ripcord condition`);
}

function allOf(constraints: readonly Constraint[], notes: Set<string>): Condition[][] {
  let result: Condition[][] = [[]];
  for (const c of constraints) {
    const next = constraintAlternatives(c, notes);
    result = result.flatMap((left) => next.map((right) => [...left, ...right]));
    if (result.length > MAX_ALTERNATIVES) throw new Unmappable(`the constraints expand to more than ${MAX_ALTERNATIVES} rules`);
  }
  return result;
}

/**
 * The percentage a strategy enables and the group it buckets by; `group` is undefined when Unleash
 * buckets by something other than userId (Ripcord's targetingKey), so no bucketing reproduces it.
 */
function strategyPercentage(strategy: Strategy, toggle: string, notes: Set<string>): { percentage: number; group?: string } {
  const p = strategy.parameters ?? {};
  switch (strategy.name) {
    case 'default':
    case 'userWithId':
      return { percentage: 100 };
    case 'flexibleRollout': {
      const stickiness = p.stickiness || 'default';
      const percentage = Number(p.rollout ?? 0);
      if (stickiness !== 'default' && stickiness !== 'userId') {
        notes.add(`flexibleRollout sticks to ${stickiness} in Unleash; Ripcord buckets by targetingKey (userId)`);
        return { percentage };
      }
      return { percentage, group: p.groupId || toggle };
    }
    case 'gradualRolloutUserId':
      return { percentage: Number(p.percentage ?? 0), group: p.groupId || '' };
    default:
      throw new Unmappable(`the strategy ${strategy.name} has no Ripcord equivalent (default, userWithId, flexibleRollout and gradualRolloutUserId do)`);
  }
}

function importToggle(toggle: Toggle, segments: ReadonlyMap<number, Constraint[]>): { entry: FlagEntry; cohorts: Cohorts; notes: string[] } {
  checkKey(toggle.name, 'toggle name');
  const notes = new Set<string>();
  const strategies = toggle.strategies.filter((s) => !s.disabled).sort((a, b) => (a.sortOrder ?? 0) - (b.sortOrder ?? 0));
  const rules: RuleEntry[] = [];
  let bucketing = false;
  const groups = new Set<string | undefined>();
  let everyone = strategies.length === 0;
  const strategyVariants = strategies.flatMap((s) => s.variants ?? []);
  for (const strategy of strategies) {
    const { percentage, group } = strategyPercentage(strategy, toggle.name, notes);
    if (!(percentage >= 0 && percentage <= 100 && Number.isInteger(percentage))) throw new Unmappable(`${strategy.name} has rollout ${percentage}, not a whole percent`);
    if (percentage === 0) continue;
    const constraints = [...(strategy.constraints ?? []), ...(strategy.segments ?? []).flatMap((id) => {
      const found = segments.get(id);
      if (!found) throw new Unmappable(`the strategy uses segment ${id}, which the export does not hold`);
      return found;
    })];
    let alternatives = allOf(constraints, notes);
    if (strategy.name === 'userWithId') {
      const ids = (strategy.parameters?.userIds ?? '').split(',').map((id) => id.trim()).filter(Boolean);
      alternatives = alternatives.map((alt) => [...alt, condition('targetingKey', 'in', ids)]);
    }
    if (percentage < 100) {
      bucketing = true;
      groups.add(group);
    }
    for (const conditions of alternatives) {
      if (percentage === 100 && conditions.length === 0) everyone = true;
      const id = `s${rules.length + 1}`;
      rules.push(percentage < 100
        ? { id, type: 'percentage', conditions, action: 'enable', priority: rules.length, percentage }
        : { id, type: 'custom', conditions, action: 'enable', priority: rules.length });
    }
  }
  if (rules.length > 200) throw new Unmappable(`the strategies expand to ${rules.length} rules (Ripcord takes 200)`);
  const variants = strategyVariants.length ? strategyVariants : toggle.variants;
  // One bucketing per flag: exact when every partial rollout buckets userId by the same group.
  const [group] = groups;
  const exactGroup = groups.size === 1 && group !== undefined ? group : undefined;
  if (groups.size > 1) notes.add(`partial rollouts bucket by ${groups.size} different groupIds; a Ripcord flag buckets one way`);
  if (!variants.length) {
    const cohorts: Cohorts = everyone || !bucketing ? 'no-bucketing' : exactGroup !== undefined ? 'exact' : 'change';
    if (cohorts === 'exact') notes.add('exact for userIds in ASCII: unleash-client for Node hashes the low byte of each UTF-16 unit of other characters, Ripcord their UTF-8 bytes');
    const entry = canonicalFlag({
      key: toggle.name, name: toggle.name, type: 'boolean',
      config: {
        enabled: toggle.enabled,
        variants: [{ name: 'on', value: true }, { name: 'off', value: false }], on_variant: 'on', off_variant: 'off',
        rules: everyone ? [] : rules,
        rollout: everyone ? null : { percentage: 0, strategy: 'immediate' },
        bucketing: cohorts === 'exact' ? { scheme: 'unleash', group_id: exactGroup! } : null,
      },
    });
    return { entry, cohorts, notes: [...notes] };
  }
  // Weighted variants: Ripcord splits after rules, so only a toggle on for everyone can split by weight.
  if (!everyone) throw new Unmappable('weighted variants under constraints or a partial rollout: Ripcord splits traffic after its rules, not inside one');
  variants.forEach((v) => checkVariantName(v.name));
  if (variants.some((v) => v.payload && v.payload.type !== 'string')) throw new Unmappable('variant payloads other than strings (json, csv, number) are not imported');
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  if (total <= 0) throw new Unmappable('variant weights add up to 0');
  if (variants.some((v) => v.name === 'disabled')) throw new Unmappable('a variant named disabled would clash with the off variant');
  notes.add('variants are assigned by Unleash\'s own hash (seed 86028157, mod the total weight); Ripcord splits by its bucket');
  let end = 0;
  let previous = 0;
  const split = variants.map((v) => {
    end += v.weight;
    const boundary = Math.round((end * 100_000) / total);
    const weight = (boundary - previous) / 1000;
    previous = boundary;
    return { variant: v.name, weight };
  });
  const entry = canonicalFlag({
    key: toggle.name, name: toggle.name, type: 'string',
    config: {
      enabled: toggle.enabled,
      variants: [...variants.map((v) => ({ name: v.name, value: v.payload?.value ?? v.name })), { name: 'disabled', value: 'disabled' }],
      on_variant: variants[0]!.name, off_variant: 'disabled',
      split,
    },
  });
  return { entry, cohorts: 'change', notes: [...notes] };
}

/** The toggles of an export or of the client API's answer, in one shape. */
function togglesOf(data: unknown, environment: string | undefined): { toggles: Toggle[]; segments: Map<number, Constraint[]> } {
  if (typeof data !== 'object' || data === null || !Array.isArray((data as { features?: unknown }).features)) {
    throw new Unmappable('not an Unleash export: it has no "features" list');
  }
  const d = data as {
    features: Array<{ name: string; enabled?: boolean; strategies?: Strategy[]; variants?: Toggle['variants'] }>;
    featureStrategies?: Array<Strategy & { featureName: string; environment?: string }>;
    featureEnvironments?: Array<{ featureName: string; environment: string; enabled: boolean; variants?: Toggle['variants'] }>;
    segments?: Array<{ id: number; constraints: Constraint[] }>;
  };
  const segments = new Map((d.segments ?? []).map((s) => [s.id, s.constraints ?? []]));
  if (!d.featureStrategies && !d.featureEnvironments) {
    return { toggles: d.features.map((f) => ({ name: f.name, enabled: Boolean(f.enabled), strategies: f.strategies ?? [], variants: f.variants ?? [] })), segments };
  }
  const toggles = d.features.map((f) => {
    const env = (d.featureEnvironments ?? []).find((e) => e.featureName === f.name && (environment === undefined || e.environment === environment));
    const strategies = (d.featureStrategies ?? []).filter((s) => s.featureName === f.name && (s.environment === undefined || env === undefined || s.environment === env.environment));
    return { name: f.name, enabled: env?.enabled ?? false, strategies, variants: env?.variants ?? f.variants ?? [] };
  });
  return { toggles, segments };
}

/** Maps an Unleash export to a flags file for `environment`; `sourceEnvironment` picks the export's environment when it holds several. */
export function importUnleash(data: unknown, environment: string, sourceEnvironment?: string): ImportResult {
  const { toggles, segments } = togglesOf(data, sourceEnvironment);
  const entries: FlagEntry[] = [];
  const reports: FlagReport[] = [];
  for (const toggle of [...toggles].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    try {
      const { entry, cohorts, notes } = importToggle(toggle, segments);
      entries.push(entry);
      reports.push({ key: toggle.name, mapped: true, cohorts, unmapped: [], notes });
    } catch (error) {
      if (!(error instanceof Unmappable)) throw error;
      reports.push({ key: toggle.name, mapped: false, unmapped: [error.message], notes: [] });
    }
  }
  return { file: emptyFile(environment, entries), reports };
}
