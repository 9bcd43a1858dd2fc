import { existsSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { grantApplicationRole } from '../../src/connections/app-role.js';
import { migrateUp } from '../../src/connections/migrations.js';
import { SEARCH_ATTRIBUTE_NAMES, TEST_WORKERS } from '../workers.js';
import { refuseUnlessTestTargets, workerTargets } from './test-target.js';
import { TEST_BUNDLE_PATH, writeTestBundle } from './test-bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The workflow code, bundled once per run (test/integration/harness.ts sharedBundle reads it). */
    workflowBundlePath: string;
  }
}

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/**
 * Runs once per `vitest run`, before the integration, browser and serial files (every project that
 * lists it shares one run of it): the services come from `scripts/test.sh` (stack-up), which points
 * DATABASE_URL and REDIS_URL at the test database and Redis index. Here the test database is wiped
 * and migrated (it is the template every file's database is cloned from, test/integration/
 * worker-setup.ts), each worker's Temporal namespace is made ready, and the workflows are bundled.
 */
export default async function setup(project: TestProject): Promise<void> {
  const shared = globalThis as { ripcordGlobalSetup?: Promise<string> };
  shared.ripcordGlobalSetup ??= prepare();
  project.provide('workflowBundlePath', await shared.ripcordGlobalSetup);
}

async function prepare(): Promise<string> {
  const { DATABASE_URL, REDIS_URL, TEMPORAL_ADDRESS } = process.env;
  if (!DATABASE_URL || !REDIS_URL || !TEMPORAL_ADDRESS) {
    throw new Error('Integration tests need the stack: run them with `npm test` (scripts/test.sh starts PostgreSQL, Redis and Temporal)');
  }
  const refusal = refuseUnlessTestTargets(process.env);
  if (refusal) {
    throw new Error(`Refusing to wipe the database and Redis: ${refusal}. Run the tests with \`npm test\`, which targets ripcord_test and Redis db 1.`);
  }
  // Every worker's targets must pass the guard before anything is wiped.
  for (let worker = 1; worker <= TEST_WORKERS; worker++) {
    const workerRefusal = refuseUnlessTestTargets({ ...process.env, ...workerTargets(process.env, worker), RIPCORD_TEST_WORKER: String(worker) });
    if (workerRefusal) throw new Error(`Refusing to run ${TEST_WORKERS} test workers: ${workerRefusal}`);
  }
  const [bundlePath] = await Promise.all([writeBundle(), migrateTemplate(DATABASE_URL), prepareNamespaces(TEMPORAL_ADDRESS)]);
  return bundlePath;
}

/** The test database, wiped and migrated: the template of every file's database. */
async function migrateTemplate(appUrl: string): Promise<void> {
  // As the schema owner (migrations); the API and worker under test connect as the application role.
  const ownerUrl = process.env.MIGRATION_DATABASE_URL ?? appUrl;
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
  } finally {
    await client.end();
  }
  await migrateUp(ownerUrl);
  await grantApplicationRole(ownerUrl, appUrl);
}

/**
 * The run's workflow bundle (its path goes to the files through provide()): built by scripts/test.sh
 * before a whole run (RIPCORD_TEST_ASSETS_BUILT=1, shared by both of its vitest processes), else here.
 */
async function writeBundle(): Promise<string> {
  if (process.env.RIPCORD_TEST_ASSETS_BUILT !== '1') return writeTestBundle();
  if (!existsSync(TEST_BUNDLE_PATH)) throw new Error(`RIPCORD_TEST_ASSETS_BUILT is set but ${TEST_BUNDLE_PATH} does not exist`);
  return TEST_BUNDLE_PATH;
}

/**
 * One Temporal namespace per worker, with the search attributes the API queries by (the dev server
 * keeps both in its database file, so later runs find them in place).
 */
async function prepareNamespaces(address: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const { namespaces } = await connection.workflowService.listNamespaces({ pageSize: 1000 });
    const existing = new Set(namespaces.map((n) => n.namespaceInfo?.name));
    await Promise.all(Array.from({ length: TEST_WORKERS }, async (_, i) => {
      const namespace = workerTargets(process.env, i + 1).TEMPORAL_NAMESPACE;
      if (!existing.has(namespace)) {
        await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') })
          .catch((error: { code?: number }) => {
            if (error.code !== 6) throw error; // ALREADY_EXISTS: another run registered it meanwhile
          });
      }
      await eventuallyReady(async () => {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = SEARCH_ATTRIBUTE_NAMES.filter((name) => customAttributes[name] !== KEYWORD);
        if (missing.length === 0) return true;
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])) })
          .catch(() => undefined); // retried: a namespace just registered may not be known to every service yet
        return false;
      }, `the search attributes of Temporal namespace ${namespace}`);
    }));
  } finally {
    await connection.close();
  }
}

async function eventuallyReady(probe: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
