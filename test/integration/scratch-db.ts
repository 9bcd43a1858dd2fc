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

/** One statement as the schema owner, on a connection of its own. */
async function asOwner(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

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
  const drop = () => asOwner(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
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
