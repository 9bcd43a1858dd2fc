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

/** One statement as the schema owner, on a connection of its own (after `before`, on the same connection). */
async function asOwner(sql: string, before?: (owner: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl() });
  await client.connect();
  try {
    await before?.(client);
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A session of another role than the connected one on a database. */
export interface OtherSession { usename: string; application_name: string; backend_start: Date }

/**
 * Waits until no role but the connected one has a session on `database`, for `boundMs` at most, and
 * returns the sessions still there (none: it may be dropped). DROP DATABASE ... WITH (FORCE) ends the
 * owner's own sessions only, not the application role's, and a pool that has just closed its
 * connections leaves their server processes exiting for a moment: on a busy machine, long enough.
 */
export async function otherRolesGone(owner: pg.Client, database: string, boundMs: number): Promise<OtherSession[]> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const { rows } = await owner.query<OtherSession>(
      'SELECT usename, application_name, backend_start FROM pg_stat_activity WHERE datname = $1 AND usename <> current_user', [database]);
    if (rows.length === 0 || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The sessions in words, for an error. */
export const describeSessions = (sessions: OtherSession[]) =>
  sessions.map((s) => `${s.usename} (${s.application_name || 'no application name'}, since ${s.backend_start.toISOString()})`).join(', ');

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
  const drop = () => asOwner(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`, async (owner) => {
    const left = await otherRolesGone(owner, name, DROP_WAIT_MS);
    if (left.length > 0) throw new Error(`${left.length} session(s) of another role still on ${name} after ${DROP_WAIT_MS / 1000} s, so it can't be dropped: ${describeSessions(left)}. Close every stack, pool and process that uses it first.`);
  });
  const urls = { ownerUrl: inDatabase(ownerUrl(), name), appUrl: inDatabase(process.env.DATABASE_URL!, name) };
  async function create(): Promise<void> {
    await drop();
    await asOwner(`CREATE DATABASE ${quoted}`);
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
