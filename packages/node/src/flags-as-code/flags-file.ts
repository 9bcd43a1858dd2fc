import { z } from 'zod';
import { conditionSchema, flagConfigInputSchemaFor, flagTypeSchema, operatorSchema, percentageSchema, type FlagType } from '../../../../src/domain/flag.js';
import { bucketingSchema } from '../../../../src/domain/bucketing.js';
import { text } from '../../../../src/domain/text.js';
import { resolveVariants, variantNameSchema } from '../../../../src/domain/variants.js';

/**
 * The flags file (`ripcord flags export | plan | apply`): one environment's flags and the segments
 * they target, in a canonical form. Export writes it, plan and apply read it. Canonical means one
 * spelling per meaning: keys in a fixed order, defaults left out, JSON values with sorted keys, tags
 * and list members sorted. The server's copy is put in the same form before comparing, so a file
 * exported and applied unchanged plans nothing and exports byte for byte the same.
 */

export const FORMAT = 'ripcord-flags/v1';

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const keySchema = z.string().max(128).regex(KEY, 'letters, digits, dot, dash or underscore, starting with a letter or digit; at most 128');
const tagSchema = z.string().regex(/^[\w.:-]{1,64}$/, 'a tag of letters, digits and . : - _ (at most 64)');
const environmentSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'an environment key such as production');

// Structure only, with every object strict so that a misspelt field is named; the values a config may
// hold are then checked by the server's own config schema for the flag's type (validateFile below).
const conditionEntry = z.strictObject({ field: text(256).min(1), operator: operatorSchema, value: z.unknown().optional() });

const ruleEntry = z.strictObject({
  id: text(128).min(1),
  type: z.enum(['user_attribute', 'environment', 'percentage', 'custom']),
  conditions: z.array(conditionEntry).optional(),
  action: z.enum(['enable', 'disable', 'serve', 'override_value']),
  variant: variantNameSchema.optional(),
  value: z.unknown().optional().meta({ description: 'override_value rules only (the shape before variants)' }),
  priority: z.number().int(),
  percentage: percentageSchema.optional(),
});

const targetingEntry = z.strictObject({
  id: text(128).min(1).optional(),
  segments: z.array(keySchema).min(1).max(100),
  percentage: percentageSchema.optional().meta({ description: 'default 100' }),
  enabled: z.boolean().optional().meta({ description: 'default true' }),
  variant: variantNameSchema.optional().meta({ description: 'default: the on variant' }),
});

const configEntry = z.strictObject({
  enabled: z.boolean(),
  variants: z.array(z.strictObject({ name: variantNameSchema, value: z.unknown() })).min(1).max(100),
  on_variant: variantNameSchema,
  off_variant: variantNameSchema,
  rules: z.array(ruleEntry).max(200).optional(),
  targeting: z.array(targetingEntry).max(200).optional(),
  rollout: z.strictObject({
    percentage: percentageSchema,
    strategy: z.enum(['gradual', 'immediate', 'scheduled']),
    start_date: z.string().optional(),
    end_date: z.string().optional(),
  }).optional(),
  split: z.array(z.strictObject({ variant: variantNameSchema, weight: percentageSchema })).min(1).max(100).optional(),
  bucketing: bucketingSchema.optional(),
});

const flagEntry = z.strictObject({
  key: keySchema,
  name: text(200).min(1),
  description: text(2000).optional(),
  type: flagTypeSchema,
  tags: z.array(tagSchema).max(50).optional(),
  config: configEntry,
});

const segmentBase = { key: keySchema, name: text(256).optional(), description: text(2048).optional() };
const segmentEntry = z.discriminatedUnion('kind', [
  z.strictObject({ ...segmentBase, kind: z.literal('rule'), conditions: z.array(conditionEntry).min(1).max(50) }),
  z.strictObject({ ...segmentBase, kind: z.literal('list'), members: z.array(text(256).min(1)).max(1_000_000) }),
]);

export const flagsFileSchema = z.strictObject({
  format: z.literal(FORMAT),
  environment: environmentSchema,
  segments: z.array(segmentEntry).optional(),
  flags: z.array(flagEntry),
});

export type ConditionEntry = z.infer<typeof conditionEntry>;
export type RuleEntry = z.infer<typeof ruleEntry>;
export type TargetingEntry = z.infer<typeof targetingEntry>;
export type ConfigEntry = z.infer<typeof configEntry>;
export type FlagEntry = z.infer<typeof flagEntry>;
export type SegmentEntry = z.infer<typeof segmentEntry>;
export type FlagsFile = z.infer<typeof flagsFileSchema>;

/** The published JSON Schema of the file (packages/node/schema/flags-file.schema.json is this, checked by a test). */
export function flagsFileJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(flagsFileSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://ripcord.dev/schema/flags-file.schema.json', title: 'Ripcord flags file', description: 'One environment\'s flags and the segments they target (ripcord flags export | plan | apply).' };
}

/** One problem with a file, at a path inside it. */
export interface FileProblem {
  path: Array<string | number>;
  message: string;
}

/**
 * Every problem with a parsed file: its structure, then each flag's config against the server's
 * schema for the flag's type (values of the type, declared variants, splits adding up to 100…),
 * duplicate keys, and targeting that names a segment neither the file nor (when given) the server has.
 */
export function validateFile(data: unknown): { file: FlagsFile; problems: [] } | { file?: undefined; problems: FileProblem[] } {
  const parsed = flagsFileSchema.safeParse(data);
  if (!parsed.success) return { problems: parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(pathPart), message: i.message })) };
  const file = parsed.data;
  const problems: FileProblem[] = [];
  const seen = new Set<string>();
  file.flags.forEach((flag, i) => {
    if (seen.has(flag.key)) problems.push({ path: ['flags', i, 'key'], message: `flag '${flag.key}' appears twice` });
    seen.add(flag.key);
    const config = flagConfigInputSchemaFor(flag.type).safeParse(flag.config);
    if (!config.success) {
      for (const issue of config.error.issues.slice(0, 10)) problems.push({ path: ['flags', i, 'config', ...issue.path.map(pathPart)], message: issue.message });
    }
  });
  const segmentKeys = new Set<string>();
  (file.segments ?? []).forEach((segment, i) => {
    if (segmentKeys.has(segment.key)) problems.push({ path: ['segments', i, 'key'], message: `segment '${segment.key}' appears twice` });
    segmentKeys.add(segment.key);
    if (segment.kind === 'rule') {
      segment.conditions.forEach((c, j) => {
        const checked = conditionSchema.safeParse(c);
        if (!checked.success) problems.push({ path: ['segments', i, 'conditions', j, ...(checked.error.issues[0]?.path.map(pathPart) ?? [])], message: checked.error.issues[0]?.message ?? 'invalid' });
      });
    }
  });
  file.flags.forEach((flag, i) => {
    flag.config.targeting?.forEach((t, j) => t.segments.forEach((key, k) => {
      if (!segmentKeys.has(key)) problems.push({ path: ['flags', i, 'config', 'targeting', j, 'segments', k], message: `segment '${key}' is not in the file's segments` });
    }));
  });
  return problems.length ? { problems } : { file, problems: [] };
}

function pathPart(p: PropertyKey): string | number {
  return typeof p === 'number' ? p : String(p);
}

/** `flags[0].config.rules[1]`: a path as a reader writes it. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(the file)';
}

// ---- canonical form ----

/** A JSON value with object keys sorted at every depth (PostgreSQL's jsonb does not keep key order). */
export function canonicalJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonicalJson((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Sets `key` only when the value says something (not undefined, null, an empty list or an empty string). */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined || value === null || value === '') return;
  if (Array.isArray(value) && value.length === 0) return;
  target[key] = value;
}

function canonicalCondition(c: { field: string; operator: string; value?: unknown }): ConditionEntry {
  const out: Record<string, unknown> = { field: c.field, operator: c.operator };
  if (c.value !== undefined) out.value = canonicalJson(c.value);
  return out as ConditionEntry;
}

/** The fields of a stored config (the API's, or a file's) that the file carries. */
export interface ConfigLike {
  enabled: boolean;
  variants?: ReadonlyArray<{ name: string; value: unknown }> | null;
  on_variant?: string | null;
  off_variant?: string | null;
  value?: unknown;
  off_value?: unknown;
  rules?: ReadonlyArray<{ id: string; type: string; conditions?: ReadonlyArray<{ field: string; operator: string; value?: unknown }>; action: string; variant?: string; value?: unknown; priority: number; percentage?: number }> | null;
  targeting?: ReadonlyArray<{ id?: string; segments: readonly string[]; percentage?: number; enabled?: boolean; variant?: string }> | null;
  rollout?: { percentage: number; strategy: string; start_date?: string | null; end_date?: string | null } | null;
  split?: ReadonlyArray<{ variant: string; weight: number }> | null;
  bucketing?: { scheme: 'unleash'; group_id: string } | null;
}

/**
 * A config in the file's canonical form. The kill switch is left out (it changes only through its
 * own route), and so are `value` / `off_value` (the on and off variants' values); a config in the
 * shape before variants reads as variants `on` and `off`, as the server reads it.
 */
export function canonicalConfig(config: ConfigLike): ConfigEntry {
  const resolved = resolveVariants({ ...config, rules: config.rules ?? [], targeting: config.targeting ?? [] });
  const out: Record<string, unknown> = {
    enabled: config.enabled,
    variants: [...resolved.variants].map(([name, value]) => ({ name, value: canonicalJson(value) })),
    on_variant: resolved.on,
    off_variant: resolved.off,
  };
  put(out, 'rules', (config.rules ?? []).map((r) => {
    const rule: Record<string, unknown> = { id: r.id, type: r.type };
    put(rule, 'conditions', (r.conditions ?? []).map(canonicalCondition));
    rule.action = r.action;
    put(rule, 'variant', r.variant);
    if (r.action === 'override_value' && r.value !== undefined) rule.value = canonicalJson(r.value);
    rule.priority = r.priority;
    if (r.percentage !== undefined && r.percentage !== null) rule.percentage = r.percentage;
    return rule;
  }));
  put(out, 'targeting', (config.targeting ?? []).map((t) => {
    const entry: Record<string, unknown> = {};
    put(entry, 'id', t.id);
    entry.segments = [...t.segments];
    if (t.percentage !== undefined && t.percentage !== 100) entry.percentage = t.percentage;
    if (t.enabled === false) entry.enabled = false;
    put(entry, 'variant', t.variant);
    return entry;
  }));
  if (config.rollout) {
    const rollout: Record<string, unknown> = { percentage: config.rollout.percentage, strategy: config.rollout.strategy };
    put(rollout, 'start_date', config.rollout.start_date);
    put(rollout, 'end_date', config.rollout.end_date);
    out.rollout = rollout;
  }
  put(out, 'split', config.split?.map((s) => ({ variant: s.variant, weight: s.weight })));
  if (config.bucketing) out.bucketing = { scheme: config.bucketing.scheme, group_id: config.bucketing.group_id };
  return out as ConfigEntry;
}

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const sorted = (values: readonly string[]) => [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** A flag in canonical form. */
export function canonicalFlag(flag: { key: string; name: string; description?: string | null; type: FlagType; tags?: readonly string[] | null; config: ConfigLike }): FlagEntry {
  const out: Record<string, unknown> = { key: flag.key, name: flag.name };
  put(out, 'description', flag.description);
  out.type = flag.type;
  put(out, 'tags', sorted(flag.tags ?? []));
  out.config = canonicalConfig(flag.config);
  return out as FlagEntry;
}

/** A segment in canonical form (members sorted). */
export function canonicalSegment(segment: { key: string; kind: 'rule' | 'list'; name?: string | null; description?: string | null; conditions?: ReadonlyArray<{ field: string; operator: string; value?: unknown }> | null; members?: readonly string[] | null }): SegmentEntry {
  const out: Record<string, unknown> = { key: segment.key, kind: segment.kind };
  put(out, 'name', segment.name);
  put(out, 'description', segment.description);
  if (segment.kind === 'rule') out.conditions = (segment.conditions ?? []).map(canonicalCondition);
  else out.members = sorted(segment.members ?? []);
  return out as SegmentEntry;
}

/** A whole file in canonical form: flags and segments by key. */
export function canonicalFile(file: FlagsFile): FlagsFile {
  const out: Record<string, unknown> = { format: FORMAT, environment: file.environment };
  put(out, 'segments', (file.segments ?? []).map(canonicalSegment).sort(byKey));
  out.flags = file.flags.map(canonicalFlag).sort(byKey);
  return out as FlagsFile;
}
