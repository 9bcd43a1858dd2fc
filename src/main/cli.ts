#!/usr/bin/env node
/**
 * The production entry: `ripcord-server <api | worker | migrate | seed>` (`npm start -- api`), run by
 * plain `node` on the build. Each command is its own module, loaded only when asked for, so the API
 * never loads the Temporal worker and `migrate` loads neither.
 */
const COMMANDS = {
  api: () => import('./api.js'),
  worker: () => import('./worker.js'),
  migrate: () => import('./migrate.js'),
  seed: () => import('./seed.js'),
} as const;

const USAGE = `Usage: ripcord-server <command>

  api       the HTTP API, OFREP and the admin UI (PORT, WEB_CONCURRENCY)
  worker    the Temporal worker and the outbox and webhook relays
  migrate   applies the database migrations, then exits
  seed      adds the demo flags (development only), then exits

Settings come from the environment (DATABASE_URL, REDIS_URL, TEMPORAL_ADDRESS, ...; see docs/configuration.md).`;

const command = process.argv[2];
if (command === '--help' || command === '-h' || command === 'help') {
  console.log(USAGE);
} else if (command && Object.hasOwn(COMMANDS, command)) {
  await COMMANDS[command as keyof typeof COMMANDS]();
} else {
  console.error(command ? `ripcord-server: unknown command "${command}"\n\n${USAGE}` : USAGE);
  process.exitCode = 2;
}
