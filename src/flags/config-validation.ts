import { flagConfigInputSchemaFor, type FlagConfig, type FlagConfigInput, type FlagType } from '../domain/flag.js';
import { fieldIssues, ValidationError } from '../errors.js';
import type { Queryable } from '../connections/database.js';
import { existingSegmentKeys } from '../segments/segment-store.js';

/**
 * The one validation of a flag config a user writes: PUT, a scheduled change when it is scheduled,
 * and the same change again when it applies. `at` names where the config sits in the request
 * (`body`, `body.config`), so every error names its field.
 */
export function parseConfigInput(type: FlagType, value: unknown, at: string): FlagConfigInput {
  const parsed = flagConfigInputSchemaFor(type).safeParse(value);
  if (!parsed.success) {
    throw new ValidationError('The flag config is invalid', fieldIssues(parsed.error.issues).map((i) => ({ ...i, path: i.path === '(root)' ? at : `${at}.${i.path}` })));
  }
  return parsed.data;
}

/** Targeting may only name segments that exist: a typo would silently match nobody. */
export async function requireKnownSegments(db: Queryable, config: Pick<FlagConfig, 'targeting'>, at: string): Promise<void> {
  const named = [...new Set(config.targeting.flatMap((t) => t.segments))];
  const existing = await existingSegmentKeys(db, named, true);
  const issues = config.targeting.flatMap((t, i) =>
    t.segments.flatMap((key, j) => (existing.has(key) ? [] : [{ path: `${at}.targeting.${i}.segments.${j}`, message: `segment '${key}' does not exist` }])),
  );
  if (issues.length) throw new ValidationError('The flag config names unknown segments', issues);
}
