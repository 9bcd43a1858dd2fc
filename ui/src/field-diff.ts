/**
 * Field-level diffs of JSON values, for people reviewing a change (the config editor's review, change
 * requests, audit events). Pure.
 *
 * - A field that is absent and one that is null both mean "not set": going from one to the other is no
 *   change (a config stored without `rollout` and written back with `rollout: null` changed nothing).
 * - Lists of things with an identity (variants by `name`, rules by `id`, split entries by `variant`,
 *   segments and flags by `key`) are matched by it, not by position: moving an item is no change. An
 *   item that left under one identity while another arrived with the very same content is a rename; so
 *   is a named item (a variant) replaced at the same position, its other differences listed under its
 *   new name.
 * - Other lists of plain values (tags, segment keys) list what was added and removed (the same values in
 *   another order: the list changed); lists of objects without an identity are compared position by position.
 */

export type PathPart = string | number | { id: string };
export type Path = PathPart[];

export type Change =
  | { kind: 'added'; path: Path; after: unknown }
  | { kind: 'removed'; path: Path; before: unknown }
  | { kind: 'changed'; path: Path; before: unknown; after: unknown }
  | { kind: 'renamed'; path: Path; field: string; from: string; to: string };

const IDENTITY_FIELDS = ['id', 'name', 'variant', 'key'] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A field of the object itself (never one it inherits, such as toString). */
const own = (o: Obj, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);
/** Absent and null are the same: not set. */
const isUnset = (v: unknown) => v === undefined || v === null;

/** Deep equality as a reviewer sees it: a field set to null equals one not set; lists of things with an identity equal in any order. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (isUnset(a) || isUnset(b)) return isUnset(a) && isUnset(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    // Things with an identity are the same in any order; other lists in theirs.
    const field = identityField(a, b);
    if (!field) return a.every((x, i) => sameValue(x, b[i]));
    const byId = new Map((b as Obj[]).map((item) => [item[field], item]));
    return (a as Obj[]).every((item) => byId.has(item[field]) && sameValue(item, byId.get(item[field])));
  }
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!sameValue(own(a, k), own(b, k))) return false;
    return true;
  }
  return Object.is(a, b) || a === b;
}

/** The field every item of both lists has as a string, unique within each list: how the lists' items are matched. */
export function identityField(before: readonly unknown[], after: readonly unknown[]): string | null {
  const items = [...before, ...after];
  if (items.length === 0) return null;
  for (const field of IDENTITY_FIELDS) {
    if (!items.every((item) => isObject(item) && typeof item[field] === 'string')) continue;
    const unique = (list: readonly unknown[]) => new Set(list.map((item) => (item as Obj)[field])).size === list.length;
    if (unique(before) && unique(after)) return field;
  }
  return null;
}

/** Every field-level difference from `before` to `after`, in document order. */
export function diffValues(before: unknown, after: unknown, path: Path = []): Change[] {
  if (isUnset(before) && isUnset(after)) return [];
  if (isUnset(before)) return [{ kind: 'added', path, after }];
  if (isUnset(after)) return [{ kind: 'removed', path, before }];
  if (Array.isArray(before) && Array.isArray(after)) return diffLists(before, after, path);
  if (isObject(before) && isObject(after)) {
    const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !Object.hasOwn(before, k))];
    return keys.flatMap((k) => diffValues(own(before, k), own(after, k), [...path, k]));
  }
  return sameValue(before, after) ? [] : [{ kind: 'changed', path, before, after }];
}

function diffLists(before: unknown[], after: unknown[], path: Path): Change[] {
  const field = identityField(before, after);
  if (field) return diffKeyedLists(before as Obj[], after as Obj[], field, path);
  if ([...before, ...after].every((v) => !isObject(v) && !Array.isArray(v))) return diffPlainLists(before, after, path);
  const length = Math.max(before.length, after.length);
  return Array.from({ length }, (_, i) => diffValues(before[i], after[i], [...path, i])).flat();
}

/** Lists of plain values: what left and what arrived (order changes alone are no change). */
function diffPlainLists(before: unknown[], after: unknown[], path: Path): Change[] {
  const remaining = [...after];
  const removed: Change[] = [];
  for (const value of before) {
    const at = remaining.findIndex((v) => sameValue(v, value));
    if (at >= 0) remaining.splice(at, 1);
    else removed.push({ kind: 'removed', path, before: value });
  }
  const added = remaining.map((value): Change => ({ kind: 'added', path, after: value }));
  // The same values in another order: the order is what changed.
  if (removed.length === 0 && added.length === 0 && !sameValue(before, after)) return [{ kind: 'changed', path, before, after }];
  return [...removed, ...added];
}

function diffKeyedLists(before: Obj[], after: Obj[], field: string, path: Path): Change[] {
  const idOf = (item: Obj) => item[field] as string;
  const afterIds = new Set(after.map(idOf));
  const beforeIds = new Set(before.map(idOf));
  const gone = before.map((item, index) => ({ item, index })).filter(({ item }) => !afterIds.has(idOf(item)));
  const arrived = after.map((item, index) => ({ item, index })).filter(({ item }) => !beforeIds.has(idOf(item)));
  // Renames: an item gone and one arrived with the very same (non-empty) other fields; then, for named
  // things (variants), one at the same position: the editor renames in place, value and all.
  const renames = new Map<number, Obj>();
  const without = (item: Obj) => Object.fromEntries(Object.entries(item).filter(([k]) => k !== field));
  const passes = field === 'name' ? ['content', 'position'] as const : ['content'] as const;
  for (const pass of passes) {
    for (const g of gone) {
      if (renames.has(g.index)) continue;
      const rest = without(g.item);
      const at = arrived.findIndex((a) => (pass === 'content' ? Object.values(rest).some((v) => !isUnset(v)) && sameValue(without(a.item), rest) : a.index === g.index));
      if (at < 0) continue;
      renames.set(g.index, arrived[at]!.item);
      arrived.splice(at, 1);
    }
  }
  const changes: Change[] = [];
  before.forEach((item, index) => {
    const renamed = renames.get(index);
    if (renamed) {
      changes.push({ kind: 'renamed', path: [...path, { id: idOf(item) }], field, from: idOf(item), to: idOf(renamed) });
      changes.push(...diffValues(without(item), without(renamed), [...path, { id: idOf(renamed) }]));
      return;
    }
    const match = after.find((a) => idOf(a) === idOf(item));
    if (match) changes.push(...diffValues(item, match, [...path, { id: idOf(item) }]));
    else changes.push({ kind: 'removed', path: [...path, { id: idOf(item) }], before: item });
  });
  for (const { item } of arrived) changes.push({ kind: 'added', path: [...path, { id: idOf(item) }], after: item });
  return changes;
}

/** A path for people: `variants[control].value`, `rules[no-nl].conditions[0].value`. */
export function pathText(path: Path): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : typeof part === 'object' ? `[${part.id}]` : i === 0 ? part : `.${part}`)).join('') || '(the value)';
}

/** A value in one line: strings quoted, objects as compact JSON, cut at `max` characters. */
export function valueText(value: unknown, max = 120): string {
  const text = value === undefined ? 'not set' : JSON.stringify(value as Json);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** One change in words: "variants[on] renamed to control", "enabled: false → true", "+ tags: \"beta\"". */
export function changeText(change: Change): string {
  const where = pathText(change.path);
  switch (change.kind) {
    case 'renamed': return `${where} renamed to ${change.to}`;
    case 'changed': return `${where}: ${valueText(change.before)} → ${valueText(change.after)}`;
    case 'added': return `+ ${where}: ${valueText(change.after)}`;
    case 'removed': return `− ${where}: ${valueText(change.before)}`;
  }
}
