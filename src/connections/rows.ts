// The conversions every store applies to what pg returns, written once.

/** A timestamptz column as the API shows it: ISO 8601; null stays null. */
export function iso(value: Date): string;
export function iso(value: Date | null): string | null;
export function iso(value: Date | null): string | null {
  return value ? value.toISOString() : null;
}

/** Whether a statement touched any row (an UPDATE, DELETE or `SELECT 1 … LIMIT 1`). */
export const touched = (result: { rowCount: number | null }) => (result.rowCount ?? 0) > 0;

/** The row a statement always returns (an INSERT … RETURNING, an aggregate); throws if it returned none. */
export function onlyRow<T>(result: { rows: T[] }): T {
  const row = result.rows[0];
  if (!row) throw new Error('the statement returned no row');
  return row;
}
