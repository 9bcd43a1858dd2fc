import type { FlagEntry, RuleEntry } from '../flags-as-code/flags-file.js';
import { canonicalFlag } from '../flags-as-code/flags-file.js';
import { checkKey, checkVariantName, emptyFile, typeOfValues, Unmappable, type Cohorts, type FlagReport, type ImportResult } from './import-report.js';
import { LOOSE_OPERATORS, operation, toAlternatives, type Alternatives } from './json-logic-conditions.js';

/**
 * flagd flag definitions → a flags file. A flag's targeting is read as a decision: a variant, flagd's
 * default (null), an `if` chain of conditions and decisions, or a `fractional` split. An `if` chain
 * becomes rules in order, one per alternative of each condition (a rule matches when all its
 * conditions do, so `or` makes several rules); what the chain ends with becomes the on variant or
 * a split. A `fractional` inside a branch becomes percentage rules over cumulative weights and a
 * last plain rule for the rest, so the branch still always decides.
 *
 * Cohorts: flagd buckets with murmur3 over flagKey + targetingKey and takes `(hash × Σweights) >> 32`;
 * Ripcord takes floor(hash × 100000 / 2³²) against cumulative weights in thousandths of a percent.
 * For integer cumulative weights C of a total T, both put a user below C exactly when hash < C × 2³² / T,
 * so the buckets agree for every user when each C × 100000 / T is an integer (1:1, 1:3, 10:30:60…);
 * otherwise the borders move by less than a bucket and the report says the cohorts change.
 */

type Decision =
  | { kind: 'variant'; name: string }
  | { kind: 'default' }
  | { kind: 'if'; branches: Array<[unknown, Decision]>; otherwise: Decision }
  | { kind: 'fractional'; slices: Array<{ variant: string; weight: number }>; exact: boolean };

const MAX_REF_DEPTH = 10;
const DEFAULT_BUCKET_BY = JSON.stringify({ cat: [{ var: '$flagd.flagKey' }, { var: 'targetingKey' }] });

/** Replaces every `{"$ref": name}` with the shared evaluator of that name. */
function resolveRefs(node: unknown, evaluators: Record<string, unknown>, depth = 0): unknown {
  if (depth > MAX_REF_DEPTH) throw new Unmappable(`$ref nested deeper than ${MAX_REF_DEPTH} (a cycle?)`);
  if (Array.isArray(node)) return node.map((n) => resolveRefs(n, evaluators, depth));
  if (typeof node === 'object' && node !== null) {
    const ref = (node as Record<string, unknown>).$ref;
    if (typeof ref === 'string' && Object.keys(node).length === 1) {
      if (!Object.hasOwn(evaluators, ref)) throw new Unmappable(`$ref '${ref}' names no entry of $evaluators`);
      return resolveRefs(evaluators[ref], evaluators, depth + 1);
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolveRefs(v, evaluators, depth)]));
  }
  return node;
}

interface Context {
  variants: Set<string>;
  notes: Set<string>;
}

function variantDecision(name: unknown, ctx: Context): Decision {
  if (name === null) return { kind: 'default' };
  if (typeof name === 'boolean' && ctx.variants.has(String(name))) return { kind: 'variant', name: String(name) };
  if (typeof name !== 'string') throw new Unmappable(`targeting answers ${JSON.stringify(name)?.slice(0, 60)}, not a variant name`);
  if (!ctx.variants.has(name)) throw new Unmappable(`targeting answers '${name}', which is not one of the flag's variants`);
  return { kind: 'variant', name };
}

function fractional(args: unknown[], ctx: Context): Decision {
  let slices = args;
  let exact = true;
  if (!Array.isArray(args[0])) {
    if (JSON.stringify(args[0]) !== DEFAULT_BUCKET_BY) {
      exact = false;
      ctx.notes.add(`fractional buckets by ${JSON.stringify(args[0]).slice(0, 80)} in flagd; Ripcord buckets by flag key + targetingKey`);
    }
    slices = args.slice(1);
  }
  const parsed = slices.map((s) => {
    if (!Array.isArray(s) || s.length < 1 || s.length > 2 || typeof s[0] !== 'string') throw new Unmappable('a fractional slice is not ["variant", weight]');
    const weight = s.length === 2 ? s[1] : 1;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0) throw new Unmappable(`fractional weight ${JSON.stringify(weight)} is not a whole number`);
    if (!ctx.variants.has(s[0])) throw new Unmappable(`fractional names '${s[0]}', which is not one of the flag's variants`);
    return { variant: s[0], weight };
  });
  const total = parsed.reduce((sum, s) => sum + s.weight, 0);
  if (total <= 0) throw new Unmappable('fractional weights add up to 0');
  let cumulative = 0;
  let previous = 0;
  let whole = true;
  const inThousandths = parsed.map((s) => {
    cumulative += s.weight;
    const end = (cumulative * 100_000) / total;
    if (!Number.isInteger(end)) whole = false;
    const rounded = Math.round(end);
    const share = rounded - previous;
    previous = rounded;
    return { variant: s.variant, weight: share / 1000 };
  });
  if (!whole) ctx.notes.add(`fractional weights ${parsed.map((s) => s.weight).join(':')} are not whole thousandths of a percent: users at the borders between slices move`);
  return { kind: 'fractional', slices: inThousandths, exact: exact && whole };
}

function decision(node: unknown, ctx: Context): Decision {
  if (node === null || typeof node === 'string' || typeof node === 'boolean') return variantDecision(node, ctx);
  const op = operation(node);
  if (!op) throw new Unmappable(`targeting ${JSON.stringify(node).slice(0, 80)} is not a variant, an if or a fractional`);
  const [name, args] = op;
  if (name === 'fractional') return fractional(args, ctx);
  if (name === 'if') {
    const branches: Array<[unknown, Decision]> = [];
    let i = 0;
    for (; i + 1 < args.length; i += 2) branches.push([args[i], decision(args[i + 1], ctx)]);
    return { kind: 'if', branches, otherwise: i < args.length ? decision(args[i], ctx) : { kind: 'default' } };
  }
  throw new Unmappable(`targeting answers the result of "${name}", which Ripcord can't serve (only variants, if and fractional)`);
}

function both(a: Alternatives, b: Alternatives): Alternatives {
  return a.flatMap((left) => b.map((right) => [...left, ...right]));
}

interface Mapped {
  rules: RuleEntry[];
  onVariant: string;
  split?: Array<{ variant: string; weight: number }>;
  bucketing: boolean;
  exact: boolean;
}

/** The rules of a decision reached under `when`: they always decide for a context that meets `when`. */
function branchRules(d: Decision, when: Alternatives, defaultVariant: string, out: Mapped): void {
  const add = (conditions: RuleEntry['conditions'], variant: string, percentage?: number) => {
    const id = `r${out.rules.length + 1}`;
    out.rules.push(percentage === undefined
      ? { id, type: 'custom', conditions, action: 'serve', variant, priority: out.rules.length }
      : { id, type: 'percentage', conditions, action: 'serve', variant, priority: out.rules.length, percentage });
  };
  if (d.kind === 'variant' || d.kind === 'default') {
    for (const alt of when) add(alt, d.kind === 'variant' ? d.name : defaultVariant);
  } else if (d.kind === 'fractional') {
    out.bucketing = true;
    out.exact &&= d.exact;
    for (const alt of when) {
      let end = 0;
      d.slices.forEach((s, i) => {
        end += Math.round(s.weight * 1000);
        if (i === d.slices.length - 1) add(alt, s.variant);
        else if (s.weight > 0) add(alt, s.variant, end / 1000);
      });
    }
  } else {
    for (const [condition, next] of d.branches) branchRules(next, both(when, toAlternatives(condition)), defaultVariant, out);
    branchRules(d.otherwise, when, defaultVariant, out);
  }
}

function mapTargeting(d: Decision, defaultVariant: string): Mapped {
  const out: Mapped = { rules: [], onVariant: defaultVariant, bucketing: false, exact: true };
  let tail = d;
  while (tail.kind === 'if') {
    for (const [condition, next] of tail.branches) branchRules(next, toAlternatives(condition), defaultVariant, out);
    tail = tail.otherwise;
  }
  if (tail.kind === 'variant') out.onVariant = tail.name;
  else if (tail.kind === 'fractional') {
    out.bucketing = true;
    out.exact &&= tail.exact;
    out.split = tail.slices;
  }
  if (out.rules.length > 200) throw new Unmappable(`the targeting expands to ${out.rules.length} rules (Ripcord takes 200)`);
  return out;
}

function usesLooseEquality(node: unknown): boolean {
  const op = operation(node);
  if (!op) return Array.isArray(node) && node.some(usesLooseEquality);
  return LOOSE_OPERATORS.has(op[0]) || op[1].some(usesLooseEquality);
}

function importFlag(key: string, raw: unknown, evaluators: Record<string, unknown>): { entry: FlagEntry; cohorts: Cohorts; notes: string[] } {
  checkKey(key, 'flag key');
  if (typeof raw !== 'object' || raw === null) throw new Unmappable('the definition is not an object');
  const flag = raw as { state?: unknown; variants?: unknown; defaultVariant?: unknown; targeting?: unknown };
  if (typeof flag.variants !== 'object' || flag.variants === null || Array.isArray(flag.variants)) throw new Unmappable('variants is not an object');
  const variants = Object.entries(flag.variants as Record<string, unknown>);
  if (!variants.length) throw new Unmappable('the flag has no variants');
  variants.forEach(([name]) => checkVariantName(name));
  if (typeof flag.defaultVariant !== 'string' || !Object.hasOwn(flag.variants, flag.defaultVariant)) {
    throw new Unmappable('defaultVariant is missing or not a variant (a flag that defers to the code default has no Ripcord off variant)');
  }
  const ctx: Context = { variants: new Set(variants.map(([name]) => name)), notes: new Set() };
  const targeting = flag.targeting === undefined || (typeof flag.targeting === 'object' && flag.targeting !== null && Object.keys(flag.targeting).length === 0)
    ? null : resolveRefs(flag.targeting, evaluators);
  const mapped = mapTargeting(targeting === null ? { kind: 'default' } : decision(targeting, ctx), flag.defaultVariant);
  const notes = [...ctx.notes];
  if (flag.state === 'DISABLED') notes.push('DISABLED in flagd, which then answers the caller\'s default; Ripcord serves the off variant (the defaultVariant)');
  else if (flag.state !== 'ENABLED') throw new Unmappable(`state ${JSON.stringify(flag.state)} is neither ENABLED nor DISABLED`);
  if (usesLooseEquality(targeting)) notes.push('== and != compare loosely in flagd ("5" == 5); Ripcord compares type and value');
  if (mapped.bucketing) notes.push('a context without targetingKey gets flagd\'s default from fractional; Ripcord answers TARGETING_KEY_MISSING (the off variant)');
  const entry = canonicalFlag({
    key, name: key, type: typeOfValues(variants.map(([, v]) => v)),
    config: {
      enabled: flag.state === 'ENABLED',
      variants: variants.map(([name, value]) => ({ name, value })),
      on_variant: mapped.onVariant,
      off_variant: flag.defaultVariant,
      rules: mapped.rules,
      split: mapped.split,
    },
  });
  return { entry, cohorts: !mapped.bucketing ? 'no-bucketing' : mapped.exact ? 'exact' : 'change', notes };
}

/** Maps a flagd flag-definition document (`flags`, `$evaluators`) to a flags file for `environment`. */
export function importFlagd(document: unknown, environment: string): ImportResult {
  if (typeof document !== 'object' || document === null || typeof (document as { flags?: unknown }).flags !== 'object') {
    throw new Unmappable('not a flagd flag definition document: it has no "flags" object');
  }
  const { flags, $evaluators } = document as { flags: Record<string, unknown>; $evaluators?: Record<string, unknown> };
  const entries: FlagEntry[] = [];
  const reports: FlagReport[] = [];
  for (const key of Object.keys(flags).sort()) {
    try {
      const { entry, cohorts, notes } = importFlag(key, flags[key], $evaluators ?? {});
      entries.push(entry);
      reports.push({ key, mapped: true, cohorts, unmapped: [], notes });
    } catch (error) {
      if (!(error instanceof Unmappable)) throw error;
      reports.push({ key, mapped: false, unmapped: [error.message], notes: [] });
    }
  }
  return { file: emptyFile(environment, entries), reports };
}
