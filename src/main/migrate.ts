import { loadConfigOrExit } from '../config.js';
import { postgresPoolConfig } from '../connections/postgres.js';
import { migrateUp } from '../stores/migrations.js';

const config = loadConfigOrExit();
// node-pg-migrate holds a session advisory lock for the whole run: through a transaction-mode
// pooler its lock and unlock could land on different server connections. Migrations need a direct one.
if (config.DATABASE_POOLER === 'transaction' && !config.MIGRATION_DATABASE_URL) {
  console.error('Invalid configuration:\n  MIGRATION_DATABASE_URL: must be set (a direct PostgreSQL URL) when DATABASE_POOLER is transaction: migrations hold a session advisory lock, which a transaction-mode pooler cannot keep');
  process.exit(2);
}
const { connectionString, ssl } = postgresPoolConfig(config, { url: config.MIGRATION_DATABASE_URL });
await migrateUp({ connectionString, ssl }, (msg) => console.log(msg));
console.log('migrations: up to date');
