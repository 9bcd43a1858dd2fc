/* A database of a test's own beside the shared test database: created and dropped by the schema owner (the application role may not create databases). */
import pg from 'pg';
import { grantApplicationRole } from '../../src/connections/app-role.js';
import { migrateUp } from '../../src/connections/migrations.js';

/** The schema owner's URL (MIGRATION_DATABASE_URL; DATABASE_URL when one role does both). */
export const ownerUrl = (): string => process.env.MIGRATION_DATABASE_URL ?? process.env.DATABASE_URL!;

/** `url` pointed at another database of the same server. */
export function inDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Work as the schema owner, on a connection of its own. */
async function asOwner(work: (owner: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl() });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/** A session of another role than the connected one on a database. */
interface OtherSession { usename: string; application_name: string; backend_start: Date }

const describeSessions = (sessions: OtherSession[]) =>
  sessions.map((s) => `${s.usename} (${s.application_name || 'no application name'}, since ${s.backend_start.toISOString()})`).join(', ');

/**
 * Drops `database` (when it exists) as its owner, connected elsewhere. DROP ... WITH (FORCE) ends the
 * owner's own sessions only, not the application role's, and a pool that has just closed leaves its
 * server processes exiting for a moment (on a busy machine, long enough), while a process of an earlier
 * test still exiting may even open a new one. So new connections are refused first, then the
 * application role's sessions are waited for (`boundMs` at most), then it is dropped. Throws naming
 * the sessions still there after the bound, with `advice` on what left them.
 */
export async function dropWhenUnused(owner: pg.Client, database: string, boundMs: number, advice: string): Promise<void> {
  const exists = await owner.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) return;
  const quoted = pg.escapeIdentifier(database);
  await owner.query(`ALTER DATABASE ${quoted} ALLOW_CONNECTIONS false`);
  const deadline = Date.now() + boundMs;
  for (;;) {
    const { rows } = await owner.query<OtherSession>(
      'SELECT usename, application_name, backend_start FROM pg_stat_activity WHERE datname = $1 AND usename <> current_user', [database]);
    if (rows.length === 0) break;
    if (Date.now() > deadline) {
      throw new Error(`${rows.length} session(s) of another role still on ${database} after ${boundMs / 1000} s, so it can't be dropped: ${describeSessions(rows)}. ${advice}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await owner.query(`DROP DATABASE ${quoted} WITH (FORCE)`);
}

/** How long a drop waits for the application role's sessions to end. */
const DROP_WAIT_MS = 15_000;

export interface ScratchDatabase {
  name: string;
  /** The scratch database as its owner (migrations) and as the application role. */
  ownerUrl: string;
  appUrl: string;
  /** Drops any leftover of an earlier run, then creates it empty. */
  create(): Promise<void>;
  /** create(), then every migration, and the application role's grants: ready for an API and worker. */
  createMigrated(): Promise<void>;
  drop(): Promise<void>;
}

export function scratchDatabase(name: string): ScratchDatabase {
  const quoted = pg.escapeIdentifier(name);
  const drop = () => asOwner((owner) => dropWhenUnused(owner, name, DROP_WAIT_MS, 'Close every stack, pool and process that uses it first.'));
  const urls = { ownerUrl: inDatabase(ownerUrl(), name), appUrl: inDatabase(process.env.DATABASE_URL!, name) };
  async function create(): Promise<void> {
    await drop();
    await asOwner((owner) => owner.query(`CREATE DATABASE ${quoted}`));
  }
  return {
    name,
    ...urls,
    create,
    async createMigrated() {
      await create();
      await migrateUp(urls.ownerUrl);
      await grantApplicationRole(urls.ownerUrl, urls.appUrl);
    },
    drop,
  };
}
