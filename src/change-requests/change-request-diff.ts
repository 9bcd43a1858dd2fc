import { sameJson } from '../domain/variants.js';
import type { ChangeRequest } from './change-request-schemas.js';

/**
 * What a change request changes, field by field (top-level config fields): what a reviewer reads.
 * A field absent on one side is shown as null.
 */
export function configDiff(before: Record<string, unknown>, after: Record<string, unknown>): ChangeRequest['diff'] {
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return fields
    .filter((field) => !sameJson(before[field] ?? null, after[field] ?? null))
    .map((field) => ({ field, before: before[field] ?? null, after: after[field] ?? null }));
}
