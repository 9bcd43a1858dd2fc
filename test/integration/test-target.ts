/**
 * The integration setup drops the `public` schema and flushes Redis. Before it does, this proves the
 * targets are the test ones: `scripts/test.sh` points DATABASE_URL and REDIS_URL at
 * RIPCORD_TEST_DATABASE_URL and RIPCORD_TEST_REDIS_URL, while `.stack/env` (sourced by people) points
 * them at the dev stack. Returns why the targets are refused, or undefined when they are safe.
 */
export function refuseUnlessTestTargets(env: Record<string, string | undefined>): string | undefined {
  const { DATABASE_URL, REDIS_URL, RIPCORD_TEST_DATABASE_URL, RIPCORD_TEST_REDIS_URL, MIGRATION_DATABASE_URL, RIPCORD_TEST_MIGRATION_DATABASE_URL } = env;
  if (!DATABASE_URL || !REDIS_URL) return 'DATABASE_URL and REDIS_URL are not set';
  if (DATABASE_URL !== RIPCORD_TEST_DATABASE_URL) return 'DATABASE_URL is not RIPCORD_TEST_DATABASE_URL';
  // The owner's URL (the one that drops the schema) must name the test database too.
  if (MIGRATION_DATABASE_URL && MIGRATION_DATABASE_URL !== RIPCORD_TEST_MIGRATION_DATABASE_URL) return 'MIGRATION_DATABASE_URL is not RIPCORD_TEST_MIGRATION_DATABASE_URL';
  if (REDIS_URL !== RIPCORD_TEST_REDIS_URL) return 'REDIS_URL is not RIPCORD_TEST_REDIS_URL';
  let database: string;
  let redisIndex: number;
  try {
    database = decodeURIComponent(new URL(DATABASE_URL).pathname.slice(1));
    const ownerDatabase = MIGRATION_DATABASE_URL ? decodeURIComponent(new URL(MIGRATION_DATABASE_URL).pathname.slice(1)) : database;
    if (ownerDatabase !== database) return `MIGRATION_DATABASE_URL names another database ("${ownerDatabase}") than DATABASE_URL`;
    redisIndex = Number(new URL(REDIS_URL).pathname.slice(1) || '0');
  } catch {
    return 'DATABASE_URL or REDIS_URL is not a URL';
  }
  if (!database.endsWith('_test')) return `the database "${database}" does not end in _test`;
  if (!Number.isInteger(redisIndex) || redisIndex === 0) return `Redis database index ${redisIndex} is the dev stack's (tests need a non-zero index)`;
  return undefined;
}
