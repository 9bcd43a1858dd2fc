import { loadConfigOrExit } from '../config.js';
import { postgresPoolConfig } from '../connections/postgres.js';
import { grantApplicationRole } from '../connections/app-role.js';
import { migrateUp } from '../connections/migrations.js';
import { createDatabase } from '../connections/database.js';
import { encryptPlaintextWebhookSecrets, webhookSecretBox } from '../webhooks/webhook-secrets.js';

const config = loadConfigOrExit();
// node-pg-migrate holds a session advisory lock for the whole run: through a transaction-mode
// pooler its lock and unlock could land on different server connections. Migrations need a direct one.
if (config.DATABASE_POOLER === 'transaction' && !config.MIGRATION_DATABASE_URL) {
  console.error('Invalid configuration:\n  MIGRATION_DATABASE_URL: must be set (a direct PostgreSQL URL) when DATABASE_POOLER is transaction: migrations hold a session advisory lock, which a transaction-mode pooler cannot keep');
  process.exit(2);
}
// Migrations run as the schema owner; the API and worker's role (DATABASE_URL) only gets DML.
const owner = postgresPoolConfig(config, { url: config.MIGRATION_DATABASE_URL ?? config.DATABASE_URL });
const ownerUrl = owner.connectionString!;
await migrateUp({ connectionString: ownerUrl, ssl: owner.ssl }, (msg) => console.log(msg));
// Data step: webhook secrets stored before encryption at rest are encrypted with WEBHOOK_SECRET_KEY.
const ownerDb = createDatabase({ connectionString: ownerUrl, ssl: owner.ssl, max: 1 });
try {
  const encrypted = await encryptPlaintextWebhookSecrets(ownerDb, webhookSecretBox(config));
  if (encrypted > 0) console.log(`migrations: encrypted ${encrypted} webhook secret(s) stored in plaintext`);
} catch (error) {
  console.error(`migrations: ${(error as Error).message}`);
  process.exit(2);
} finally {
  await ownerDb.end();
}
const granted = await grantApplicationRole(ownerUrl, config.DATABASE_URL, owner.ssl);
console.log(granted
  ? `migrations: up to date; role ${granted.role} granted the application's privileges`
  : 'migrations: up to date (MIGRATION_DATABASE_URL is unset or the same role as DATABASE_URL: the application runs as the schema owner)');
