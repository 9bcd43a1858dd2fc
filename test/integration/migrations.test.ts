import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantApplicationRole } from '../../src/connections/app-role.js';
import { inDatabase, scratchDatabase } from './scratch-db.js';

// Migrations, against the stack's real PostgreSQL, in two scratch databases:
// one migrated by `npm run migrate` at once (then again, which must change nothing), one upgraded
// one migration at a time from the first, as a database deployed at each release would have been.
// Both must end with the same schema: tables, columns, types, constraints, indexes, triggers,
// functions, sequences and grants, read from the catalogue.

const root = fileURLToPath(new URL('../..', import.meta.url));
const migrationsDir = `${root}migrations`;
const migrationFiles = readdirSync(migrationsDir).filter((f) => f.endsWith('.sql')).sort();
const ownerUrl = process.env.MIGRATION_DATABASE_URL ?? process.env.DATABASE_URL!;
const appUrl = process.env.DATABASE_URL!;
const FRESH = 'ripcord_migrations_fresh_test';
const STEPPED = 'ripcord_migrations_stepped_test';

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `npm run migrate` (src/main/migrate.ts) against a scratch database, as owner and application role. */
async function migrateCommand(database: string): Promise<string> {
  const { stdout } = await promisify(execFile)('node', ['--import', 'tsx', 'src/main/migrate.ts'], {
    cwd: root, timeout: 120_000,
    env: { ...process.env, DATABASE_URL: inDatabase(appUrl, database), MIGRATION_DATABASE_URL: inDatabase(ownerUrl, database), LOG_LEVEL: 'silent' },
  });
  return stdout;
}

/** Everything a migration can create in the public schema, as the catalogue describes it, sorted. */
async function catalogue(database: string) {
  return withClient(inDatabase(ownerUrl, database), async (client) => {
    const rows = async (sql: string) => (await client.query(sql)).rows;
    return {
      relations: await rows(`SELECT c.relname, c.relkind, c.relacl::text AS acl FROM pg_class c
                               WHERE c.relnamespace = 'public'::regnamespace ORDER BY c.relname`),
      columns: await rows(`SELECT table_name, column_name, ordinal_position, data_type, udt_name, character_maximum_length,
                                  is_nullable, column_default, is_identity, is_generated
                             FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`),
      constraints: await rows(`SELECT conrelid::regclass::text AS relation, conname, contype, pg_get_constraintdef(oid) AS definition
                                 FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`),
      indexes: await rows(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2`),
      triggers: await rows(`SELECT tgrelid::regclass::text AS relation, tgname, tgenabled, pg_get_triggerdef(oid) AS definition
                              FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2`),
      functions: await rows(`SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args, pg_get_functiondef(p.oid) AS definition,
                                    p.proacl::text AS acl, pg_get_userbyid(p.proowner) AS owner
                               FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1, 2`),
      types: await rows(`SELECT t.typname, t.typtype, array_to_string(array(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder), ',') AS labels
                           FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0 ORDER BY 1`),
      sequences: await rows(`SELECT sequencename, data_type::text, start_value, increment_by, max_value, cycle
                               FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1`),
      grants: await rows(`SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants
                            WHERE table_schema = 'public' ORDER BY 1, 2, 3`),
      migrations: await rows('SELECT name FROM pgmigrations ORDER BY id'),
    };
  });
}

beforeAll(async () => {
  await Promise.all([scratchDatabase(FRESH).create(), scratchDatabase(STEPPED).create()]);
});
afterAll(async () => {
  await Promise.all([scratchDatabase(FRESH).drop(), scratchDatabase(STEPPED).drop()]);
});

describe('migrations', () => {
  it('migrate on a fresh database, then again: the second run applies nothing and changes nothing', async () => {
    const first = await migrateCommand(FRESH);
    expect(first).toContain('migrations: up to date');
    const afterFirst = await catalogue(FRESH);
    expect(afterFirst.migrations).toEqual(migrationFiles.map((f) => ({ name: f.replace(/\.sql$/, '') })));

    const second = await migrateCommand(FRESH);
    expect(second).toContain('No migrations to run!');
    expect(second).toContain('migrations: up to date');
    expect(await catalogue(FRESH)).toEqual(afterFirst);
  });

  it('a database upgraded one migration at a time from the first ends with the same schema as a fresh one', async () => {
    const url = inDatabase(ownerUrl, STEPPED);
    for (const [i, file] of migrationFiles.entries()) {
      await runner({ databaseUrl: url, dir: migrationsDir, direction: 'up', migrationsTable: 'pgmigrations', count: 1, singleTransaction: true, log: () => undefined });
      // What `migrate` does after each release's migrations: grant the application role its privileges.
      await grantApplicationRole(url, inDatabase(appUrl, STEPPED));
      const applied = (await catalogue(STEPPED)).migrations;
      expect(applied, `after ${file}`).toHaveLength(i + 1);
    }
    const stepped = await catalogue(STEPPED);
    const fresh = await catalogue(FRESH);
    // The comparison has substance: the dump holds the audit chain's table, triggers, functions and the role split.
    expect(fresh.triggers.map((t) => (t as { tgname: string }).tgname)).toEqual(expect.arrayContaining(['audit_events_chain', 'audit_events_no_update_delete']));
    expect(fresh.functions.map((f) => (f as { proname: string }).proname)).toContain('audit_event_digest');
    expect(fresh.grants).toContainEqual({ grantee: new URL(appUrl).username, table_name: 'audit_events', privilege_type: 'INSERT' });
    expect(fresh.grants).not.toContainEqual({ grantee: new URL(appUrl).username, table_name: 'audit_events', privilege_type: 'UPDATE' });
    for (const part of Object.keys(fresh) as Array<keyof typeof fresh>) expect(stepped[part], part).toEqual(fresh[part]);
  });
});
