import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { runner } from 'node-pg-migrate';

const migrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * Applies every pending SQL migration in migrations/ (forward-only; a no-op when up to date), or
 * only the next `count` of them (a test builds a database as it was before a migration).
 */
export async function migrateUp(databaseUrl: string | pg.ClientConfig, log: (msg: string) => void = () => undefined, count = Infinity): Promise<void> {
  await runner({
    databaseUrl,
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count,
    singleTransaction: true,
    log,
  });
}
