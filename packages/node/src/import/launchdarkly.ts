import type { Condition, Operator } from '../../../../src/domain/flag.js';
import { conditionValueProblem } from '../../../../src/domain/flag.js';
import { variantNameSchema } from '../../../../src/domain/variants.js';
import type { FlagEntry, RuleEntry } from '../flags-as-code/flags-file.js';
import { canonicalFlag } from '../flags-as-code/flags-file.js';
import { checkKey, emptyFile, typeOfValues, Unmappable, type Cohorts, type FlagReport, type ImportResult } from './import-report.js';

/**
 * LaunchDarkly → a flags file. Reads flags as the REST API returns them (`GET /api/v2/flags/{project}`:
 * `items`, each with `environments`, of which `sourceEnvironment` is taken) or as its SDKs hold them
 * (`{flags: {key: flag}}`, the file data source's format). Individual targets become `in` rules on
 * targetingKey (before the rules, as LaunchDarkly checks them first); each rule one Ripcord rule per
 * alternative of its clauses (clauses are ANDed, a clause's values ORed); the fallthrough's variation
 * the on variant; offVariation the off variant. The user's `key` is Ripcord's targetingKey.
 *
 * Cohorts: LaunchDarkly buckets percentage rollouts by SHA-1 of `flagKey.salt.key` and Ripcord by
 * murmur3, so a flag with a rollout keeps its shares but not its users ("cohorts will change"); a
 * flag without one keeps every user's answer.
 */

interface Clause { attribute: string; op: string; values: unknown[]; negate?: boolean; contextKind?: string }
interface Rollout { variations: Array<{ variation: number; weight: number }>; bucketBy?: string; contextKind?: string; kind?: string }
interface VariationOrRollout { variation?: number; rollout?: Rollout }
interface LdRule extends VariationOrRollout { id?: string; clauses: Clause[] }
interface LdFlag {
  key: string;
  on: boolean;
  variations: Array<{ value: unknown; name?: string }>;
  offVariation?: number | null;
  fallthrough: VariationOrRollout;
  targets?: Array<{ values: string[]; variation: number; contextKind?: string }>;
  contextTargets?: Array<{ values: string[]; variation: number; contextKind?: string }>;
  rules?: LdRule[];
  prerequisites?: Array<{ key: string; variation: number }>;
  name?: string;
  description?: string;
  tags?: string[];
}

const MAX_ALTERNATIVES = 50;

const OPERATORS: Record<string, Operator> = {
  in: 'in', startsWith: 'starts_with', endsWith: 'ends_with', contains: 'contains',
  lessThan: 'less_than', lessThanOrEqual: 'less_or_equal', greaterThan: 'greater_than', greaterThanOrEqual: 'greater_or_equal',
  before: 'before', after: 'after', semVerEqual: 'semver_equals', semVerGreaterThan: 'semver_greater_than', semVerLessThan: 'semver_less_than',
};

function checkCondition(field: string, operator: Operator, value: unknown): Condition {
  const problem = conditionValueProblem(operator, value);
  if (problem) throw new Unmappable(`${operator} on ${field}: ${problem}`);
  return { field, operator, value };
}

function clauseAlternatives(clause: Clause): Condition[][] {
  if (clause.contextKind && clause.contextKind !== 'user') throw new Unmappable(`a clause on context kind ${clause.contextKind} (Ripcord's context has no kinds)`);
  if (clause.op === 'segmentMatch') throw new Unmappable('segmentMatch clauses (LaunchDarkly segments are not imported)');
  const operator = OPERATORS[clause.op];
  if (!operator) throw new Unmappable(`the clause operator ${clause.op} has no Ripcord condition`);
  const field = clause.attribute === 'key' ? 'targetingKey' : clause.attribute;
  if (operator === 'in') return [[checkCondition(field, clause.negate ? 'not_in' : 'in', clause.values)]];
  if (clause.negate) throw new Unmappable(`negated ${clause.op} has no Ripcord condition (negated in does)`);
  // Dates may be epoch milliseconds in LaunchDarkly; Ripcord compares ISO 8601 text.
  const values = operator === 'before' || operator === 'after' ? clause.values.map((v) => (typeof v === 'number' ? new Date(v).toISOString() : v)) : clause.values;
  return values.map((v) => [checkCondition(field, operator, v)]);
}

function clausesAlternatives(clauses: readonly Clause[]): Condition[][] {
  let result: Condition[][] = [[]];
  for (const clause of clauses) {
    const next = clauseAlternatives(clause);
    result = result.flatMap((left) => next.map((right) => [...left, ...right]));
    if (result.length > MAX_ALTERNATIVES) throw new Unmappable(`the clauses expand to more than ${MAX_ALTERNATIVES} rules`);
  }
  return result;
}

/** A rollout as slices of variant names with weights in thousandths of a percent (LaunchDarkly's weights are out of 100,000). */
function slices(rollout: Rollout, names: readonly string[]): Array<{ variant: string; weight: number }> {
  if (rollout.kind === 'experiment') throw new Unmappable('experiment rollouts are not imported');
  if (rollout.contextKind && rollout.contextKind !== 'user') throw new Unmappable(`a rollout by context kind ${rollout.contextKind}`);
  const total = rollout.variations.reduce((sum, v) => sum + v.weight, 0);
  if (total !== 100_000) throw new Unmappable(`rollout weights add up to ${total}, not 100000`);
  return rollout.variations.map((v) => ({ variant: variantAt(names, v.variation), weight: v.weight / 1000 }));
}

function variantAt(names: readonly string[], index: number | null | undefined): string {
  const name = typeof index === 'number' ? names[index] : undefined;
  if (name === undefined) throw new Unmappable(`variation ${String(index)} does not exist`);
  return name;
}

/** Variation names: LaunchDarkly's own when each is a valid, unique Ripcord name, else v0, v1, … */
function variationNames(flag: LdFlag): string[] {
  const own = flag.variations.map((v) => v.name ?? '');
  const usable = own.every((n) => variantNameSchema.safeParse(n).success) && new Set(own).size === own.length;
  return usable ? own : flag.variations.map((_, i) => `v${i}`);
}

function importFlag(flag: LdFlag): { entry: FlagEntry; cohorts: Cohorts; notes: string[] } {
  checkKey(flag.key, 'flag key');
  if (flag.prerequisites?.length) throw new Unmappable(`prerequisites (${flag.prerequisites.map((p) => p.key).join(', ')}): Ripcord flags do not depend on other flags`);
  if (flag.contextTargets?.some((t) => t.contextKind !== 'user' && t.values.length > 0)) throw new Unmappable('individual targets of a context kind other than user');
  if (!flag.variations?.length) throw new Unmappable('the flag has no variations');
  const names = variationNames(flag);
  const notes: string[] = [];
  let offVariant: string;
  if (flag.offVariation === null || flag.offVariation === undefined) {
    if (!flag.on) throw new Unmappable('the flag is off without an offVariation: LaunchDarkly serves the caller\'s default, Ripcord an off variant');
    offVariant = names[0]!;
    notes.push(`no offVariation: when turned off LaunchDarkly serves the caller's default; Ripcord will serve ${offVariant}`);
  } else {
    offVariant = variantAt(names, flag.offVariation);
  }
  const rules: RuleEntry[] = [];
  let bucketing = false;
  const add = (conditions: Condition[], variant: string, percentage?: number) => {
    const id = `r${rules.length + 1}`;
    rules.push(percentage === undefined
      ? { id, type: 'custom', conditions, action: 'serve', variant, priority: rules.length }
      : { id, type: 'percentage', conditions, action: 'serve', variant, priority: rules.length, percentage });
  };
  for (const target of flag.targets ?? []) if (target.values.length) add([checkCondition('targetingKey', 'in', target.values)], variantAt(names, target.variation));
  for (const target of flag.contextTargets ?? []) if (target.values.length && target.contextKind === 'user') add([checkCondition('targetingKey', 'in', target.values)], variantAt(names, target.variation));
  for (const rule of flag.rules ?? []) {
    const alternatives = clausesAlternatives(rule.clauses);
    if (rule.rollout) {
      const parts = slices(rule.rollout, names);
      if (parts.some((p) => p.weight > 0 && p.weight < 100)) bucketing = true;
      for (const alt of alternatives) {
        let end = 0;
        parts.forEach((p, i) => {
          end += Math.round(p.weight * 1000);
          if (i === parts.length - 1) add(alt, p.variant);
          else if (p.weight > 0) add(alt, p.variant, end / 1000);
        });
      }
    } else {
      for (const alt of alternatives) add(alt, variantAt(names, rule.variation));
    }
  }
  if (rules.length > 200) throw new Unmappable(`the targets and rules expand to ${rules.length} rules (Ripcord takes 200)`);
  let onVariant: string;
  let split: Array<{ variant: string; weight: number }> | undefined;
  if (flag.fallthrough.rollout) {
    split = slices(flag.fallthrough.rollout, names).filter((s) => s.weight > 0);
    if (new Set(split.map((s) => s.variant)).size !== split.length) throw new Unmappable('the fallthrough rollout names a variation twice');
    if (split.length > 1) bucketing = true;
    onVariant = split[0]!.variant;
  } else {
    onVariant = variantAt(names, flag.fallthrough.variation);
  }
  if (bucketing) notes.push('rollouts are bucketed by SHA-1 of flagKey.salt.key in LaunchDarkly and by murmur3 in Ripcord: the same shares, other users');
  const entry = canonicalFlag({
    key: flag.key, name: flag.name || flag.key, description: flag.description, type: typeOfValues(flag.variations.map((v) => v.value)),
    tags: (flag.tags ?? []).filter((t) => /^[\w.:-]{1,64}$/.test(t)),
    config: {
      enabled: flag.on,
      variants: flag.variations.map((v, i) => ({ name: names[i]!, value: v.value })),
      on_variant: onVariant, off_variant: offVariant, rules, split: split && split.length > 1 ? split : undefined,
    },
  });
  return { entry, cohorts: bucketing ? 'change' : 'no-bucketing', notes };
}

/** The flags of a REST API answer (one environment of each) or of an SDK data file, in SDK shape. */
function flagsOf(data: unknown, sourceEnvironment: string | undefined): LdFlag[] {
  if (typeof data !== 'object' || data === null) throw new Unmappable('not LaunchDarkly flag JSON');
  const d = data as { flags?: Record<string, LdFlag>; items?: Array<Record<string, unknown>>; environments?: unknown; key?: string };
  // The SDKs' data lists variations as bare values; the REST API as {value, name}.
  if (d.flags && typeof d.flags === 'object') return Object.values(d.flags).map((f) => ({ ...f, variations: (f.variations as unknown[] ?? []).map((value) => ({ value })) }));
  const items = Array.isArray(d.items) ? d.items : d.environments ? [d as Record<string, unknown>] : undefined;
  if (!items) throw new Unmappable('not LaunchDarkly flag JSON: neither {flags: {...}} (SDK data) nor {items: [...]} (REST API)');
  return items.map((item) => {
    const environments = (item.environments ?? {}) as Record<string, Record<string, unknown>>;
    const names = Object.keys(environments);
    const env = sourceEnvironment ?? (names.length === 1 ? names[0] : undefined);
    if (!env || !environments[env]) throw new Unmappable(`flag ${String(item.key)}: pick one of its environments with --source-environment (${names.join(', ')})`);
    return { ...item, ...environments[env], key: item.key } as unknown as LdFlag;
  });
}

/** Maps LaunchDarkly flags to a flags file for `environment`. */
export function importLaunchDarkly(data: unknown, environment: string, sourceEnvironment?: string): ImportResult {
  const entries: FlagEntry[] = [];
  const reports: FlagReport[] = [];
  for (const flag of flagsOf(data, sourceEnvironment).sort((a, b) => (a.key < b.key ? -1 : 1))) {
    try {
      const { entry, cohorts, notes } = importFlag(flag);
      entries.push(entry);
      reports.push({ key: flag.key, mapped: true, cohorts, unmapped: [], notes });
    } catch (error) {
      if (!(error instanceof Unmappable)) throw error;
      reports.push({ key: String(flag.key), mapped: false, unmapped: [error.message], notes: [] });
    }
  }
  return { file: emptyFile(environment, entries), reports };
}
