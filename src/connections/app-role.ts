import pg from 'pg';

/** The user name in a PostgreSQL URL. */
export function roleOf(databaseUrl: string): string {
  return decodeURIComponent(new URL(databaseUrl).username);
}

/**
 * What the API and worker may do, granted by the schema owner after every migration (so tables added
 * later are covered): rows of every table, but on audit_events only INSERT and SELECT, and on the
 * migrations table only SELECT. The role owns nothing, so it can neither alter a table, disable or
 * replace the append-only triggers, nor TRUNCATE. Idempotent.
 */
export const APP_ROLE_GRANTS = (role: string) => {
  const r = pg.escapeIdentifier(role);
  return [
    `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${r}`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${r}`,
    `GRANT USAGE ON SCHEMA public TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r}`,
    `REVOKE UPDATE, DELETE ON audit_events FROM ${r}`,
    `REVOKE INSERT, UPDATE, DELETE ON pgmigrations FROM ${r}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${r}`,
  ];
};

/** Grants the application role its privileges, connected as the owner. A no-op when both are one role. */
export async function grantApplicationRole(ownerUrl: string, appUrl: string, ssl?: pg.ClientConfig['ssl']): Promise<{ role: string } | null> {
  const role = roleOf(appUrl);
  if (!role || role === roleOf(ownerUrl)) return null;
  const client = new pg.Client({ connectionString: ownerUrl, ...(ssl ? { ssl } : {}) });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const statement of APP_ROLE_GRANTS(role)) await client.query(statement);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
  return { role };
}
