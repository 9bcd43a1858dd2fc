import { Redis } from 'ioredis';
import pg from 'pg';
import { grantApplicationRole } from '../../src/connections/app-role.js';
import { migrateUp } from '../../src/connections/migrations.js';
import { refuseUnlessTestTargets } from './test-target.js';

/**
 * Runs once before the integration files: the services come from `scripts/test.sh` (stack-up), which
 * points DATABASE_URL and REDIS_URL at a test database and Redis index. Here both are wiped and migrated.
 */
export default async function setup(): Promise<void> {
  const { DATABASE_URL, REDIS_URL, TEMPORAL_ADDRESS } = process.env;
  if (!DATABASE_URL || !REDIS_URL || !TEMPORAL_ADDRESS) {
    throw new Error('Integration tests need the stack: run them with `npm test` (scripts/test.sh starts PostgreSQL, Redis and Temporal)');
  }
  const refusal = refuseUnlessTestTargets(process.env);
  if (refusal) {
    throw new Error(`Refusing to wipe the database and Redis: ${refusal}. Run the tests with \`npm test\`, which targets ripcord_test and Redis db 1.`);
  }
  // As the schema owner (migrations); the API and worker under test connect as the application role.
  const ownerUrl = process.env.MIGRATION_DATABASE_URL ?? DATABASE_URL;
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  await client.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
  await client.end();
  await migrateUp(ownerUrl);
  await grantApplicationRole(ownerUrl, DATABASE_URL);

  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  redis.disconnect();
}
