import type { FlagType } from '../../../../src/domain/flag.js';
import { variantNameSchema } from '../../../../src/domain/variants.js';
import type { FlagEntry, FlagsFile, SegmentEntry } from '../flags-as-code/flags-file.js';
import { FORMAT } from '../flags-as-code/flags-file.js';

/**
 * What an importer answers: the flags file it maps to, and per source flag what maps, what can't
 * (named, with why) and whether the flag keeps its cohorts, i.e. whether every user gets from
 * Ripcord what the source served them:
 * - `exact`: percentages hash to the same buckets as the source does (flagd's fractional);
 * - `no-bucketing`: the flag has no percentage, so conditions alone decide;
 * - `change`: the flag has percentages the source buckets by another hash: the same share of
 *   users is served, but not the same users ("cohorts will change").
 */
export type Cohorts = 'exact' | 'no-bucketing' | 'change';

export interface FlagReport {
  key: string;
  /** False when the flag is left out of the file: `unmapped` says why. */
  mapped: boolean;
  cohorts?: Cohorts;
  /** Why the flag (or a part of it) can't be imported. */
  unmapped: string[];
  /** Caveats of a mapped flag: meanings that differ at the edges. */
  notes: string[];
}

export interface ImportResult {
  file: FlagsFile;
  reports: FlagReport[];
}

/** A mapping that can't be done, with the reason; the importers throw it per flag and catch it per flag. */
export class Unmappable extends Error {}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkKey(key: string, what = 'key'): void {
  if (!KEY.test(key)) throw new Unmappable(`the ${what} '${key.slice(0, 80)}' is not a Ripcord key (letters, digits, . _ -, at most 128)`);
}

export function checkVariantName(name: string): void {
  if (!variantNameSchema.safeParse(name).success) throw new Unmappable(`the variant name '${name.slice(0, 80)}' is not a Ripcord variant name (letters, digits, _ . -, starting with a letter or digit)`);
}

/** The flag type of a set of values: one JSON type for all, else json. */
export function typeOfValues(values: readonly unknown[]): FlagType {
  const types = new Set(values.map((v) => typeof v));
  if (types.size === 1) {
    const [only] = types;
    if (only === 'boolean' || only === 'string' || only === 'number') return only;
  }
  return 'json';
}

/** Whole percent (or thousandths) as a percentage with at most three decimals; undefined when not exact. */
export function exactPercent(thousandthsOfPercent: number): number | undefined {
  return Number.isInteger(thousandthsOfPercent) ? thousandthsOfPercent / 1000 : undefined;
}

export function emptyFile(environment: string, flags: FlagEntry[], segments: SegmentEntry[] = []): FlagsFile {
  return { format: FORMAT, environment, segments, flags };
}

const COHORTS_TEXT: Record<Cohorts, string> = {
  exact: 'keeps its cohorts (same buckets)',
  'no-bucketing': 'keeps its cohorts (no percentages)',
  change: 'cohorts will change',
};

/** The dry-run report: one line per flag, with what can't be mapped and the caveats under it, then counts. */
export function renderReport(source: string, reports: readonly FlagReport[]): string[] {
  const lines: string[] = [`Import from ${source}: ${reports.length} flag(s)`];
  for (const r of reports) {
    lines.push(r.mapped ? `  ✓ ${r.key}: maps; ${COHORTS_TEXT[r.cohorts ?? 'change']}` : `  ✗ ${r.key}: can't be imported`);
    for (const why of r.unmapped) lines.push(`      can't map: ${why}`);
    for (const note of r.notes) lines.push(`      note: ${note}`);
  }
  const mapped = reports.filter((r) => r.mapped);
  lines.push(
    `${mapped.length} map (${mapped.filter((r) => r.cohorts !== 'change').length} keep their cohorts, ${mapped.filter((r) => r.cohorts === 'change').length} will change cohorts), `
      + `${reports.length - mapped.length} can't be imported`,
  );
  return lines;
}
