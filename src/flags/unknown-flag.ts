import { NotFoundError } from '../errors.js';
import type { Queryable } from '../connections/database.js';
import { listFlagKeys } from './flag-store.js';
import { closeMatches } from './close-matches.js';

/** The 404 for a flag key nobody has: names up to three live keys close to it ("did you mean"). */
export async function unknownFlag(db: Queryable, key: string): Promise<NotFoundError> {
  const near = closeMatches(key, await listFlagKeys(db));
  const hint = near.length ? ` Did you mean ${near.map((k) => `'${k}'`).join(', ')}?` : '';
  return new NotFoundError(`Flag '${key}' does not exist.${hint}`, near.length ? { did_you_mean: near } : undefined);
}
