import { isSemver } from '../../domain/flag.js';
import type { Predicate } from './equality.js';

/** A parsed semantic version; build metadata is dropped (it has no precedence). */
export interface Semver {
  major: number;
  minor: number;
  patch: number;
  pre: string[];
}

/** Parses `1.2.3`, `v1.2.3-rc.1+build`; undefined when it is not a semantic version. */
export function parseSemver(s: unknown): Semver | undefined {
  if (typeof s !== 'string' || !isSemver(s)) return undefined;
  const core = s.charCodeAt(0) === 118 /* v */ ? s.slice(1) : s;
  const plus = core.indexOf('+');
  const noBuild = plus === -1 ? core : core.slice(0, plus);
  const dash = noBuild.indexOf('-');
  const main = dash === -1 ? noBuild : noBuild.slice(0, dash);
  const [major, minor, patch] = main.split('.').map(Number) as [number, number, number];
  return { major, minor, patch, pre: dash === -1 ? [] : noBuild.slice(dash + 1).split('.') };
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

/** `semver_equals` / `semver_greater_than` / `semver_less_than` against a pre-parsed version. */
export function compareVersion(operator: 'semver_equals' | 'semver_greater_than' | 'semver_less_than', expected: Semver): Predicate {
  const want = operator === 'semver_equals' ? 0 : operator === 'semver_greater_than' ? 1 : -1;
  return (actual) => {
    const parsed = parseSemver(actual);
    return parsed !== undefined && compareSemver(parsed, expected) === want;
  };
}
