import { loadConfigOrExit } from '../config.js';
import { migrateUp } from '../stores/migrations.js';

const config = loadConfigOrExit();
await migrateUp(config.DATABASE_URL, (msg) => console.log(msg));
console.log('migrations: up to date');
