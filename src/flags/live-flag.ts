import { NotFoundError } from '../errors.js';
import type { Queryable } from '../connections/database.js';
import { findConfig, findFlag, type FlagRecord } from './flag-store.js';
import { unknownFlag } from './unknown-flag.js';

/** The live flag, or 404 naming the unknown flag or environment. */
export async function requireFlagIn(db: Queryable, flagKey: string, environment: string): Promise<FlagRecord> {
  const flag = await findFlag(db, flagKey);
  if (!flag || flag.archivedAt) throw await unknownFlag(db, flagKey);
  if (!(await findConfig(db, flag.id, environment))) throw new NotFoundError(`Environment '${environment}' does not exist`);
  return flag;
}
