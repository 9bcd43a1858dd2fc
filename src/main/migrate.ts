import { loadConfigOrExit } from '../config.js';
import { grantApplicationRole } from '../stores/app-role.js';
import { migrateUp } from '../stores/migrations.js';

const config = loadConfigOrExit();
// Migrations run as the schema owner; the API and worker's role (DATABASE_URL) only gets DML.
const ownerUrl = config.MIGRATION_DATABASE_URL ?? config.DATABASE_URL;
await migrateUp(ownerUrl, (msg) => console.log(msg));
const granted = await grantApplicationRole(ownerUrl, config.DATABASE_URL);
console.log(granted
  ? `migrations: up to date; role ${granted.role} granted the application's privileges`
  : 'migrations: up to date (MIGRATION_DATABASE_URL is unset or the same role as DATABASE_URL: the application runs as the schema owner)');
