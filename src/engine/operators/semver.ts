import type { Predicate } from './equality.js';

/** A parsed semantic version; build metadata is dropped (it has no precedence). */
export interface Semver {
  major: number;
  minor: number;
  patch: number;
  pre: string[];
}

const DOT = 46;
const DASH = 45;
const PLUS = 43;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isIdentChar(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === DASH;
}

/**
 * Parses `1.2.3`, `v1.2.3-rc.1+build` in one linear scan (no regex: this runs per evaluation);
 * undefined when it is not a semantic version. Accepts exactly what the domain's isSemver accepts.
 */
export function parseSemver(s: unknown): Semver | undefined {
  if (typeof s !== 'string' || s.length > 256) return undefined;
  const n = s.length;
  let i = n > 0 && s.charCodeAt(0) === 118 /* v */ ? 1 : 0;
  const core = [0, 0, 0];
  for (let part = 0; part < 3; part++) {
    if (part > 0) {
      if (s.charCodeAt(i) !== DOT) return undefined;
      i++;
    }
    const start = i;
    let value = 0;
    while (i < n && isDigit(s.charCodeAt(i))) value = value * 10 + (s.charCodeAt(i++) - 48);
    const digits = i - start;
    // Numbers are non-empty, without leading zeros, and small enough to compare exactly.
    if (digits === 0 || digits > 15 || (digits > 1 && s.charCodeAt(start) === 48)) return undefined;
    core[part] = value;
  }
  let pre: string[] = [];
  if (i < n && s.charCodeAt(i) === DASH) {
    const start = ++i;
    while (i < n && (isIdentChar(s.charCodeAt(i)) || s.charCodeAt(i) === DOT)) i++;
    if (i === start) return undefined;
    pre = s.slice(start, i).split('.');
  }
  if (i < n && s.charCodeAt(i) === PLUS) {
    const start = ++i;
    while (i < n && (isIdentChar(s.charCodeAt(i)) || s.charCodeAt(i) === DOT)) i++;
    if (i === start) return undefined;
  }
  if (i !== n) return undefined;
  return { major: core[0]!, minor: core[1]!, patch: core[2]!, pre };
}

const NUMERIC = /^\d+$/;

function compareIdentifiers(a: string, b: string): number {
  const an = NUMERIC.test(a);
  const bn = NUMERIC.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semantic-version precedence: -1, 0 or 1 (a pre-release sorts before its release). */
export function compareSemver(a: Semver, b: Semver): number {
  const core = Math.sign(a.major - b.major) || Math.sign(a.minor - b.minor) || Math.sign(a.patch - b.patch);
  if (core !== 0) return core;
  // A release outranks its pre-releases.
  if (a.pre.length === 0) return b.pre.length === 0 ? 0 : 1;
  if (b.pre.length === 0) return -1;
  const n = Math.min(a.pre.length, b.pre.length);
  for (let i = 0; i < n; i++) {
    const c = compareIdentifiers(a.pre[i]!, b.pre[i]!);
    if (c !== 0) return c;
  }
  return Math.sign(a.pre.length - b.pre.length);
}

/** Compares a version without pre-release or build against `expected`; undefined for anything else (use the full parse). */
function compareSimple(s: string, expected: Semver): number | undefined {
  const n = s.length;
  if (n > 48) return undefined;
  let i = n > 0 && s.charCodeAt(0) === 118 /* v */ ? 1 : 0;
  let result = 0;
  for (let part = 0; part < 3; part++) {
    if (part > 0) {
      if (s.charCodeAt(i) !== DOT) return undefined;
      i++;
    }
    const start = i;
    let value = 0;
    while (i < n && isDigit(s.charCodeAt(i))) value = value * 10 + (s.charCodeAt(i++) - 48);
    const digits = i - start;
    if (digits === 0 || digits > 15 || (digits > 1 && s.charCodeAt(start) === 48)) return undefined;
    if (result === 0) result = Math.sign(value - (part === 0 ? expected.major : part === 1 ? expected.minor : expected.patch));
  }
  if (i !== n) return undefined;
  // A release outranks the expected version's pre-releases.
  return result !== 0 || expected.pre.length === 0 ? result : 1;
}

/** `semver_equals` / `semver_greater_than` / `semver_less_than` against a pre-parsed version. */
export function compareVersion(operator: 'semver_equals' | 'semver_greater_than' | 'semver_less_than', expected: Semver): Predicate {
  const want = operator === 'semver_equals' ? 0 : operator === 'semver_greater_than' ? 1 : -1;
  return (actual) => {
    if (typeof actual !== 'string') return false;
    // Plain versions (the usual case) compare in one scan without allocating.
    const quick = compareSimple(actual, expected);
    if (quick !== undefined) return quick === want;
    const parsed = parseSemver(actual);
    return parsed !== undefined && compareSemver(parsed, expected) === want;
  };
}
