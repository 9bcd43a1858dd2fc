import type { Condition, Operator } from '../../../../src/domain/flag.js';
import { conditionValueProblem } from '../../../../src/domain/flag.js';
import { Unmappable } from './import-report.js';

/**
 * flagd's JsonLogic conditions as Ripcord conditions, in disjunctive normal form: a list of
 * alternatives, each a list of conditions that must all hold (one Ripcord rule per alternative).
 * Only what has the same meaning is mapped; anything else throws Unmappable naming the operator.
 */
export type Alternatives = Condition[][];

const MAX_ALTERNATIVES = 50;

type Logic = unknown;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The single operator of a JsonLogic object and its arguments (always as a list). */
export function operation(node: Logic): [string, Logic[]] | undefined {
  if (!isObject(node)) return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1) return undefined;
  const op = keys[0]!;
  const args = node[op];
  return [op, Array.isArray(args) ? args : [args]];
}

/** The context field a `{"var": …}` reads, or undefined for anything else. */
function field(node: Logic): string | undefined {
  const op = operation(node);
  if (!op || op[0] !== 'var') return undefined;
  const [name, fallback] = op[1];
  if (typeof name !== 'string' || fallback !== undefined) return undefined;
  if (name.startsWith('$flagd.')) throw new Unmappable(`${name} (flagd's own properties, such as its clock) has no Ripcord condition`);
  return name;
}

const isPrimitive = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function one(fieldName: string, operator: Operator, value: unknown): Alternatives {
  const problem = conditionValueProblem(operator, value);
  if (problem) throw new Unmappable(`${operator} on ${fieldName}: ${problem}`);
  return [[{ field: fieldName, operator, value }]];
}

const FLIPPED: Record<string, Operator> = { '<': 'greater_than', '>': 'less_than', '<=': 'greater_or_equal', '>=': 'less_or_equal' };
const COMPARISONS: Record<string, Operator> = { '<': 'less_than', '>': 'greater_than', '<=': 'less_or_equal', '>=': 'greater_or_equal' };
const SEMVER: Record<string, Operator> = { '=': 'semver_equals', '>': 'semver_greater_than', '<': 'semver_less_than' };

/** Loose equality (`==`) that Ripcord's strict equality reproduces: noted by the caller when used. */
export const LOOSE_OPERATORS = new Set(['==', '!=']);

function comparison(op: string, args: Logic[]): Alternatives {
  const [a, b] = args;
  if (op === '==' || op === '===' || op === '!=' || op === '!==') {
    const positive = op === '==' || op === '===';
    const [name, value] = field(a) !== undefined ? [field(a)!, b] : [field(b), a];
    if (name === undefined || !isPrimitive(value)) throw new Unmappable(`${op} needs a {"var"} and a string, number or boolean`);
    return one(name, positive ? 'equals' : 'not_equals', value);
  }
  if (args.length !== 2) throw new Unmappable(`${op} with ${args.length} arguments (between-ranges) has no Ripcord condition`);
  if (field(a) !== undefined && typeof b === 'number') return one(field(a)!, COMPARISONS[op]!, b);
  if (field(b) !== undefined && typeof a === 'number') return one(field(b)!, FLIPPED[op]!, a);
  throw new Unmappable(`${op} needs a {"var"} and a number`);
}

/** The DNF of a JsonLogic condition. */
export function toAlternatives(node: Logic): Alternatives {
  if (node === true) return [[]];
  if (node === false) return [];
  const op = operation(node);
  if (!op) throw new Unmappable(`the condition ${JSON.stringify(node).slice(0, 80)} is not a JsonLogic operation Ripcord maps`);
  const [name, args] = op;
  switch (name) {
    case 'and': {
      let result: Alternatives = [[]];
      for (const arg of args) {
        const next = toAlternatives(arg);
        result = result.flatMap((left) => next.map((right) => [...left, ...right]));
        if (result.length > MAX_ALTERNATIVES) throw new Unmappable(`the condition expands to more than ${MAX_ALTERNATIVES} rules`);
      }
      return result;
    }
    case 'or': {
      const result = args.flatMap(toAlternatives);
      if (result.length > MAX_ALTERNATIVES) throw new Unmappable(`the condition expands to more than ${MAX_ALTERNATIVES} rules`);
      return result;
    }
    case '!': {
      const inner = toAlternatives(args[0]);
      const only = inner.length === 1 && inner[0]!.length === 1 ? inner[0]![0]! : undefined;
      const inverse: Partial<Record<Operator, Operator>> = { equals: 'not_equals', in: 'not_in' };
      const to = only && inverse[only.operator];
      if (!only || !to) throw new Unmappable('"!" is mapped only around a single == or in');
      return [[{ ...only, operator: to }]];
    }
    case '==': case '===': case '!=': case '!==': case '<': case '>': case '<=': case '>=':
      return comparison(name, args);
    case 'in': {
      const [needle, haystack] = args;
      const member = field(needle);
      if (member !== undefined && Array.isArray(haystack) && haystack.every(isPrimitive)) return one(member, 'in', haystack);
      const container = field(haystack);
      if (container !== undefined && typeof needle === 'string') return one(container, 'contains', needle);
      throw new Unmappable('"in" is mapped for {"var"} in a list of literals, or a string in a {"var"}');
    }
    case 'starts_with': case 'ends_with': {
      const [a, b] = args;
      const subject = field(a);
      if (subject === undefined || typeof b !== 'string') throw new Unmappable(`${name} needs a {"var"} and a string`);
      return one(subject, name, b);
    }
    case 'sem_ver': {
      const [a, cmp, b] = args;
      const subject = field(a);
      const operator = typeof cmp === 'string' ? SEMVER[cmp] : undefined;
      if (subject === undefined || !operator || typeof b !== 'string') throw new Unmappable(`sem_ver ${String(cmp)} has no Ripcord condition (=, > and < do)`);
      return one(subject, operator, b);
    }
    default:
      throw new Unmappable(`the JsonLogic operator "${name}" has no Ripcord condition`);
  }
}
