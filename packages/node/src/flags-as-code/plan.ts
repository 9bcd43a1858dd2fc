import { sameJson } from '../../../../src/domain/variants.js';
import type { FlagEntry, FlagsFile, SegmentEntry } from './flags-file.js';
import { canonicalFlag, canonicalSegment } from './flags-file.js';
import type { ServerFlag, ServerSegment, ServerState } from './server-state.js';

/**
 * `ripcord flags plan`: what applying a file would change, per flag and per field, computed from the
 * file and the server's state (both in canonical form). Pure: apply executes the same plan.
 */

/** One field that differs: a path such as `config.rules[1].percentage`, and its two values (undefined: absent). */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

export type FlagAction =
  | { kind: 'create'; key: string; entry: FlagEntry; changes: FieldChange[] }
  | { kind: 'update'; key: string; entry: FlagEntry; server: ServerFlag; identity: FieldChange[]; config: FieldChange[] }
  | { kind: 'archive'; key: string; server: ServerFlag };

export type SegmentAction =
  | { kind: 'create'; key: string; entry: SegmentEntry; changes: FieldChange[] }
  | { kind: 'update'; key: string; entry: SegmentEntry; server: ServerSegment; changes: FieldChange[] };

export interface Plan {
  environment: string;
  segments: SegmentAction[];
  flags: FlagAction[];
  /** Flags in the file that already match the server. */
  unchanged: string[];
  /** Live flags the server has and the file lacks, left alone because --prune was not given. */
  notInFile: string[];
  /** What the file asks that can't be done (a flag's type, a segment's kind): those are left untouched, and plan and apply exit 1. */
  problems: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function join(path: string, part: string | number): string {
  return typeof part === 'number' ? `${path}[${part}]` : path ? `${path}.${part}` : part;
}

/**
 * The fields where `after` differs from `before`, as deep as both sides keep the same shape: objects
 * field by field, lists of equal length item by item; a list that grew or shrank is one change.
 */
export function diffJson(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (sameJson(before, after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...Object.keys(after), ...Object.keys(before).filter((k) => !Object.hasOwn(after, k))];
    return keys.flatMap((k) => diffJson(before[k], after[k], join(path, k)));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return after.flatMap((item, i) => diffJson(before[i], item, join(path, i)));
  }
  return [{ path, before, after }];
}

/** A segment's changes; a list segment's members are compared as sets (added and removed, not positions). */
function segmentChanges(before: SegmentEntry | undefined, after: SegmentEntry): FieldChange[] {
  if (after.kind === 'list' && before?.kind === 'list') {
    const { members: was, ...restBefore } = before;
    const { members: now, ...restAfter } = after;
    const changes = diffJson(restBefore, restAfter);
    const had = new Set(was);
    const has = new Set(now);
    const added = now.filter((m) => !had.has(m));
    const removed = was.filter((m) => !has.has(m));
    if (added.length || removed.length) changes.push({ path: 'members', before: removed.length ? { removed } : undefined, after: added.length ? { added } : undefined });
    return changes;
  }
  return diffJson(before, after);
}

/** The plan of applying `file` to the server's `state`; `prune` archives live flags the file lacks. */
export function computePlan(file: FlagsFile, state: ServerState, options: { prune?: boolean } = {}): Plan {
  const plan: Plan = { environment: state.environment, segments: [], flags: [], unchanged: [], notInFile: [], problems: [] };
  for (const raw of file.segments ?? []) {
    const entry = canonicalSegment(raw);
    const server = state.segments.get(entry.key);
    if (!server) plan.segments.push({ kind: 'create', key: entry.key, entry, changes: [] });
    else if (server.entry.kind !== entry.kind) {
      // A segment's kind can't change in place; flags would be refused if it were replaced under them.
      plan.problems.push(`segment '${entry.key}' is a ${server.entry.kind} segment on the server and a ${entry.kind} segment in the file: a segment's kind can't change`);
    } else {
      const changes = segmentChanges(server.entry, entry);
      if (changes.length) plan.segments.push({ kind: 'update', key: entry.key, entry, server, changes });
    }
  }
  const inFile = new Set<string>();
  for (const raw of file.flags) {
    const entry = canonicalFlag(raw);
    inFile.add(entry.key);
    const server = state.flags.get(entry.key);
    if (!server) {
      plan.flags.push({ kind: 'create', key: entry.key, entry, changes: flatten(entry) });
      continue;
    }
    if (server.archived) {
      plan.problems.push(`flag '${entry.key}' is archived on the server: unarchive it (POST /api/v1/flags/${entry.key}/unarchive) or remove it from the file`);
      continue;
    }
    if (server.entry.type !== entry.type) {
      plan.problems.push(`flag '${entry.key}' is of type ${server.entry.type} on the server and ${entry.type} in the file: a flag's type can't change (create a new flag)`);
      continue;
    }
    const { config: configBefore, ...identityBefore } = server.entry;
    const { config: configAfter, ...identityAfter } = entry;
    const identity = diffJson(identityBefore, identityAfter);
    const config = diffJson(configBefore, configAfter, 'config');
    if (identity.length || config.length) plan.flags.push({ kind: 'update', key: entry.key, entry, server, identity, config });
    else plan.unchanged.push(entry.key);
  }
  for (const [key, server] of state.flags) {
    if (inFile.has(key) || server.archived) continue;
    if (options.prune) plan.flags.push({ kind: 'archive', key, server });
    else plan.notInFile.push(key);
  }
  return plan;
}

/** Every leaf of a new flag as a change from nothing, for the plan of a create. */
function flatten(entry: FlagEntry): FieldChange[] {
  const { key: _key, config, ...identity } = entry;
  return [
    ...Object.entries(identity).map(([path, after]) => ({ path, before: undefined, after })),
    ...Object.entries(config).map(([field, after]) => ({ path: `config.${field}`, before: undefined, after })),
  ];
}

/** Whether applying the plan changes anything. */
export function planChanges(plan: Plan): boolean {
  return plan.segments.length > 0 || plan.flags.length > 0;
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

function changeLines(changes: readonly FieldChange[]): string[] {
  return changes.map((c) => (c.path === 'members' && (isObject(c.before) || isObject(c.after))
    ? `      members: +${(c.after as { added?: string[] } | undefined)?.added?.length ?? 0} -${(c.before as { removed?: string[] } | undefined)?.removed?.length ?? 0}`
    : `      ${c.path}: ${show(c.before)} → ${show(c.after)}`));
}

/** The plan as text, one block per segment and flag, and a closing count. */
export function renderPlan(plan: Plan): string[] {
  const lines: string[] = [];
  for (const s of plan.segments) {
    lines.push(s.kind === 'create' ? `  + segment ${s.key} (${s.entry.kind}): create` : `  ~ segment ${s.key}: update (every environment's flags that target it)`);
    if (s.kind === 'update') lines.push(...changeLines(s.changes));
  }
  for (const f of plan.flags) {
    if (f.kind === 'create') {
      lines.push(`  + flag ${f.key} (${f.entry.type}): create`);
      lines.push(...changeLines(f.changes));
    } else if (f.kind === 'update') {
      lines.push(`  ~ flag ${f.key}: update`);
      lines.push(...changeLines([...f.identity, ...f.config]));
    } else {
      lines.push(`  - flag ${f.key}: archive (--prune; it stops being served in every environment)`);
    }
  }
  for (const problem of plan.problems) lines.push(`  ! ${problem}`);
  const count = (kind: FlagAction['kind']) => plan.flags.filter((f) => f.kind === kind).length;
  if (plan.notInFile.length) lines.push(`  Not in the file, left alone (--prune archives them): ${plan.notInFile.join(', ')}`);
  lines.push(
    `Plan for ${plan.environment}: ${count('create')} flag(s) to create, ${count('update')} to update, ${count('archive')} to archive, ${plan.unchanged.length} unchanged; `
      + `${plan.segments.filter((s) => s.kind === 'create').length} segment(s) to create, ${plan.segments.filter((s) => s.kind === 'update').length} to update`
      + (plan.problems.length ? `; ${plan.problems.length} problem(s)` : ''),
  );
  return lines;
}
