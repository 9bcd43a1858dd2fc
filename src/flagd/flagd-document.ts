import { flagConfigSchemaFor, type FlagConfig, type FlagDefinition, type FlagRule, type TargetingRule } from '../domain/flag.js';
import type { Segment } from '../domain/segment.js';
import { resolveVariants, thousandths, type ResolvedVariants } from '../domain/variants.js';
import { BUCKETS, needsBucket, thresholdOf } from '../engine/bucketing.js';
import { compileFlag } from '../engine/compile.js';
import { and, conditionsLogic, FALSE, Inexpressible, not, or, TRUE, type JsonLogic } from './json-logic.js';

/**
 * Renders an environment's flags in flagd's flag-definition format (https://flagd.dev/schema/v0/flags.json),
 * so that flagd and flagd's in-process providers evaluate them as Ripcord's engine does
 * (docs/architecture.md, "flagd as an edge tier"):
 *
 * - the config's variants (a config without a list has `on` and `off`), plus one per `override_value`
 *   rule, named by the rule id;
 * - killed or disabled: the off variant served statically (state ENABLED, no targeting), the kill as flag metadata;
 * - rules by priority, then targeting rules (segments inlined), then the split or the rollout, as one
 *   JsonLogic `if` chain; percentages and splits are `fractional` with weights in thousandths of a percent, which buckets
 *   exactly like the engine: floor(murmur3(flagKey + targetingKey) × 100000 / 2³²) (flagd's "v2"
 *   fractional; see below); a scheduled window compares `$flagd.timestamp`;
 * - a decision that needs a bucket without a targeting key routes to an undeclared variant, so flagd
 *   answers an error and the caller's default, as Ripcord's OFREP does (code GENERAL, not TARGETING_KEY_MISSING);
 * - where Ripcord falls through to `off` by default (outside a window or a rollout), targeting returns
 *   null so flagd serves `defaultVariant` with reason DEFAULT, as Ripcord does.
 *
 * What flagd cannot express is left out of the document and reported with the reason.
 */

/** One flag in flagd's format. */
export interface FlagdFlag {
  state: 'ENABLED' | 'DISABLED';
  variants: Record<string, unknown>;
  defaultVariant: string;
  targeting?: JsonLogic;
  metadata?: Record<string, string | number | boolean>;
}

/** A flagd flag-definition document (what flagd's file, HTTP and gRPC sync sources carry). */
export interface FlagdDocument {
  $schema: string;
  flags: Record<string, FlagdFlag>;
  metadata: { flagSetId: string; version: string };
}

export interface LeftOut {
  key: string;
  reason: string;
}

export const FLAGD_SCHEMA = 'https://flagd.dev/schema/v0/flags.json';

/**
 * List segments are inlined as a JsonLogic `in` list, which flagd scans per evaluation and every
 * client holds in memory; a flag naming a larger list segment is left out of the document.
 */
export const MAX_INLINED_MEMBERS = 10_000;

/** The variant a missing targeting key routes to; it is never declared, so flagd answers an error. */
export const TARGETING_KEY_MISSING_VARIANT = 'ripcord:targeting-key-missing';

const FULL = BUCKETS;

type Outcome = string | null | JsonLogic;

/** The targeting key is absent or empty (the engine then can't bucket). */
const NO_TARGETING_KEY: JsonLogic = { '!': [{ var: 'targetingKey' }] };

/** The user's bucket is below `threshold` (thousandths of a percent): flagd's fractional with the engine's resolution. */
function insideBucket(threshold: number): JsonLogic {
  if (threshold <= 0) return FALSE;
  if (threshold >= FULL) return TRUE;
  return { '===': [{ fractional: [['in', threshold], ['out', FULL - threshold]] }, 'in'] };
}


/** An `if` chain from (condition, outcome) pairs: the first condition that holds decides. */
function chain(branches: Array<[JsonLogic, Outcome]>, otherwise: Outcome): JsonLogic {
  const args: JsonLogic[] = [];
  for (const [condition, outcome] of branches) {
    if (condition === FALSE) continue;
    if (condition === TRUE) return args.length === 0 ? outcome : { if: [...args, outcome] };
    args.push(condition, outcome);
  }
  return args.length === 0 ? otherwise : { if: [...args, otherwise] };
}

/** flagd takes only an object as targeting; a bare outcome is wrapped (targeting makes the reason TARGETING_MATCH or DEFAULT, not STATIC). */
function asTargeting(decided: JsonLogic): JsonLogic {
  return typeof decided === 'object' && decided !== null && !Array.isArray(decided) ? decided : { if: [TRUE, decided, null] };
}

function segmentLogic(key: string, segments: ReadonlyMap<string, Segment>): JsonLogic {
  const segment = segments.get(key);
  if (!segment) return FALSE; // the engine compiles an unknown segment to one that never matches
  if (segment.kind === 'rule') return conditionsLogic(segment.conditions);
  if (segment.members.length > MAX_INLINED_MEMBERS) {
    throw new Inexpressible(`list segment '${key}' has ${segment.members.length} members; at most ${MAX_INLINED_MEMBERS} are inlined`);
  }
  return { in: [{ var: 'targetingKey' }, [...segment.members]] };
}

function ruleBranches(rule: FlagRule, variants: ResolvedVariants, environment: string): Array<[JsonLogic, Outcome]> {
  const matches = conditionsLogic(rule.conditions, rule.type === 'environment' ? environment : undefined);
  const variant = rule.action === 'enable' ? variants.on : rule.action === 'disable' ? variants.off : rule.action === 'serve' ? rule.variant! : rule.id;
  if (rule.type !== 'percentage') return [[matches, variant]];
  const threshold = thresholdOf(rule.percentage ?? 0);
  const branches: Array<[JsonLogic, Outcome]> = [];
  if (needsBucket(threshold)) branches.push([and(matches, NO_TARGETING_KEY), TARGETING_KEY_MISSING_VARIANT]);
  branches.push([and(matches, insideBucket(threshold)), variant]);
  return branches;
}

function targetingBranches(rule: TargetingRule, variants: ResolvedVariants, segments: ReadonlyMap<string, Segment>): Array<[JsonLogic, Outcome]> {
  const inSegment = or(...rule.segments.map((key) => segmentLogic(key, segments)));
  const threshold = thresholdOf(rule.percentage);
  const branches: Array<[JsonLogic, Outcome]> = [];
  if (needsBucket(threshold)) branches.push([and(inSegment, NO_TARGETING_KEY), TARGETING_KEY_MISSING_VARIANT]);
  // A matched targeting rule decides: its variant (else the on variant) inside its percentage, the off variant outside (no fall-through).
  const inside = rule.variant ?? variants.on;
  const split = threshold <= 0 ? variants.off : threshold >= FULL ? inside : { fractional: [[inside, threshold], [variants.off, FULL - threshold]] };
  branches.push([inSegment, split]);
  return branches;
}

/** Whole seconds of an ISO date, since `$flagd.timestamp` counts whole seconds. */
function wholeSeconds(iso: string, field: string): number {
  const ms = Date.parse(iso);
  if (ms % 1000 !== 0) throw new Inexpressible(`rollout ${field} ${iso} is not on a whole second ($flagd.timestamp counts seconds)`);
  return ms / 1000;
}

/** Whether some percentage of the config lies strictly between 0 and 100, so that a user's bucket decides. */
function usesBuckets(config: FlagConfig): boolean {
  const partial = (p: number | undefined) => p !== undefined && p > 0 && p < 100;
  return config.rules.some((r) => r.type === 'percentage' && partial(r.percentage))
    || config.targeting.some((t) => t.enabled && partial(t.percentage))
    || partial(config.rollout?.percentage)
    || (config.split ?? []).filter((s) => s.weight > 0).length > 1;
}

/** A weighted split: flagd's fractional over the same cumulative weights (thousandths) walks the same buckets. */
function splitBranches(split: NonNullable<FlagConfig['split']>): { branches: Array<[JsonLogic, Outcome]>; otherwise: Outcome } {
  const whole = split.find((s) => thousandths(s.weight) === FULL);
  if (whole) return { branches: [], otherwise: whole.variant };
  return { branches: [[NO_TARGETING_KEY, TARGETING_KEY_MISSING_VARIANT]], otherwise: { fractional: split.map((s) => [s.variant, thousandths(s.weight)]) } };
}

function rolloutBranches(rollout: NonNullable<FlagConfig['rollout']>, on: string): { branches: Array<[JsonLogic, Outcome]>; otherwise: Outcome } {
  const branches: Array<[JsonLogic, Outcome]> = [];
  if (rollout.strategy === 'scheduled') {
    // Outside [start, end): Ripcord serves off_value with reason DEFAULT; null makes flagd serve defaultVariant (off), DEFAULT.
    const now = { var: '$flagd.timestamp' };
    const inside = and(
      rollout.start_date ? { '>=': [now, wholeSeconds(rollout.start_date, 'start_date')] } : TRUE,
      rollout.end_date ? { '<': [now, wholeSeconds(rollout.end_date, 'end_date')] } : TRUE,
    );
    branches.push([not(inside), null]);
  }
  const threshold = thresholdOf(rollout.percentage);
  if (needsBucket(threshold)) branches.push([NO_TARGETING_KEY, TARGETING_KEY_MISSING_VARIANT]);
  const otherwise = threshold <= 0 ? null : threshold >= FULL ? on : chain([[insideBucket(threshold), on]], null);
  return { branches, otherwise };
}

function variantsOf(definition: FlagDefinition, config: FlagConfig, declared: ResolvedVariants): Record<string, unknown> {
  const variants: Record<string, unknown> = Object.fromEntries(declared.variants);
  for (const rule of config.rules) {
    if (rule.action !== 'override_value') continue;
    if (Object.hasOwn(variants, rule.id)) throw new Inexpressible(`rule id '${rule.id}' names a variant that already serves another value`);
    variants[rule.id] = rule.value;
  }
  if (definition.type === 'json') {
    // flagd's object flags serve JSON objects only (its schema refuses arrays, and a null variant is an error).
    for (const [name, value] of Object.entries(variants)) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new Inexpressible(`variant '${name}' is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}; flagd's object flags serve JSON objects only`);
      }
    }
  }
  return variants;
}

/** One definition as a flagd flag; throws Inexpressible with the reason when flagd can't serve it as Ripcord does. */
export function toFlagdFlag(definition: FlagDefinition, segments: ReadonlyMap<string, Segment>): FlagdFlag {
  const compiled = compileFlag(definition, segments);
  if (compiled.compileError) {
    // The engine still serves a kill's readable off_value (a kill never fails open); so does the document.
    const killed = compiled.run({}, Date.now(), undefined);
    if (killed.reason === 'DISABLED') {
      return { state: 'ENABLED', variants: { off: killed.value }, defaultVariant: 'off', metadata: { killSwitch: true } };
    }
    throw new Inexpressible(`the stored config does not compile (${compiled.compileError}); Ripcord answers PARSE_ERROR`);
  }
  const config = flagConfigSchemaFor(definition.type).parse(definition.config);
  const declared = resolveVariants(config);
  const variants = variantsOf(definition, config, declared);
  const { on, off } = declared;
  if (config.kill_switch.enabled) return { state: 'ENABLED', variants, defaultVariant: off, metadata: { killSwitch: true } };
  if (!config.enabled) return { state: 'ENABLED', variants, defaultVariant: off };
  if (config.bucketing && usesBuckets(config)) {
    throw new Inexpressible(`it buckets users as ${config.bucketing.scheme} does (murmur3 of 'group_id:targetingKey' mod 100); flagd's fractional buckets by flagKey + targetingKey`);
  }

  const branches: Array<[JsonLogic, Outcome]> = [];
  const rules = [...config.rules].sort((a, b) => a.priority - b.priority); // stable, as the engine sorts
  for (const rule of rules) branches.push(...ruleBranches(rule, declared, definition.environment));
  for (const rule of config.targeting) if (rule.enabled) branches.push(...targetingBranches(rule, declared, segments));

  if (config.split) {
    const split = splitBranches(config.split);
    return { state: 'ENABLED', variants, defaultVariant: on, targeting: asTargeting(chain([...branches, ...split.branches], split.otherwise)) };
  }
  if (!config.rollout) {
    // Nothing to decide: flagd serves the default variant statically (reason STATIC), as Ripcord does.
    if (branches.length === 0) return { state: 'ENABLED', variants, defaultVariant: on };
    return { state: 'ENABLED', variants, defaultVariant: on, targeting: asTargeting(chain(branches, null)) };
  }
  const rollout = rolloutBranches(config.rollout, on);
  return { state: 'ENABLED', variants, defaultVariant: off, targeting: asTargeting(chain([...branches, ...rollout.branches], rollout.otherwise)) };
}

/** Why a definition can't be served through flagd, or undefined when it can. */
export function inexpressibleReason(definition: FlagDefinition, segments: ReadonlyMap<string, Segment>): string | undefined {
  try {
    toFlagdFlag(definition, segments);
    return undefined;
  } catch (error) {
    if (error instanceof Inexpressible) return error.message;
    throw error;
  }
}

/** An environment's served (not archived) definitions as one flagd document, and the flags left out with why. */
export function toFlagdDocument(
  environment: string,
  version: number,
  definitions: Iterable<FlagDefinition>,
  segments: ReadonlyMap<string, Segment>,
): { document: FlagdDocument; leftOut: LeftOut[] } {
  const flags: Record<string, FlagdFlag> = {};
  const leftOut: LeftOut[] = [];
  const served = [...definitions].filter((d) => !d.archived).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const definition of served) {
    try {
      flags[definition.key] = toFlagdFlag(definition, segments);
    } catch (error) {
      if (!(error instanceof Inexpressible)) throw error;
      leftOut.push({ key: definition.key, reason: error.message });
    }
  }
  return { document: { $schema: FLAGD_SCHEMA, flags, metadata: { flagSetId: environment, version: String(version) } }, leftOut };
}
