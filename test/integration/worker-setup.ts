import { Client, Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import pg from 'pg';
import { inject } from 'vitest';
import { dropWhenUnused } from './scratch-db.js';
import { guardedRedisUrl, refuseUnlessTestTargets, workerTargets } from './test-target.js';

/**
 * Runs before every integration, browser and serial file, in the file's own process: points the
 * file (and every process it starts, which inherits the environment) at its vitest worker's own
 * targets, and resets them, so a file sees nothing an earlier one left:
 *   - a fresh database cloned from the migrated test database (CREATE DATABASE ... TEMPLATE),
 *   - an empty Redis index, and a key and channel prefix of the worker's own,
 *   - a Temporal namespace of the worker's own, with no workflow left running in it;
 * and hands every worker it starts the workflow bundle built once for the run (WORKFLOW_BUNDLE).
 */
const worker = Number(process.env.VITEST_POOL_ID);
const targets = workerTargets(process.env, worker);
Object.assign(process.env, targets, { RIPCORD_TEST_WORKER: String(worker), WORKFLOW_BUNDLE: inject('workflowBundlePath') });
if (!targets.MIGRATION_DATABASE_URL) delete process.env.MIGRATION_DATABASE_URL;
const refusal = refuseUnlessTestTargets(process.env);
if (refusal) throw new Error(`Refusing to reset the test worker's database and Redis: ${refusal}`);

const ownerUrl = new URL(process.env.MIGRATION_DATABASE_URL ?? process.env.DATABASE_URL!);
const database = decodeURIComponent(ownerUrl.pathname.slice(1));
const template = decodeURIComponent(new URL(process.env.RIPCORD_TEST_MIGRATION_DATABASE_URL ?? process.env.RIPCORD_TEST_DATABASE_URL!).pathname.slice(1));
// The maintenance database: neither the template (a clone needs it unused) nor the one being replaced.
ownerUrl.pathname = '/postgres';

/**
 * A worker runs its files one after another in one process (isolate: false in vitest.config.ts), so a
 * file starts as soon as the one before ends, while the API and worker processes that file started
 * may still be exiting: their sessions must end first, within this bound.
 */
const LEFTOVER_CONNECTIONS_WAIT_MS = 15_000;

async function freshDatabase(): Promise<void> {
  const admin = new pg.Client({ connectionString: ownerUrl.toString() });
  await admin.connect();
  try {
    await dropWhenUnused(admin, database, LEFTOVER_CONNECTIONS_WAIT_MS,
      `An earlier file of vitest worker ${worker} left them open: close every stack, pool and process a file opens in its afterAll.`);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)} TEMPLATE ${pg.escapeIdentifier(template)}`);
  } finally {
    await admin.end();
  }
}

async function emptyRedis(): Promise<void> {
  const redis = new Redis(guardedRedisUrl());
  try {
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}

// Workflows an earlier file of this worker left running (a crash before its stack closed) would keep
// their ids busy; nothing polls their task queues any more.
async function noWorkflowLeftRunning(): Promise<void> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  try {
    const client = new Client({ connection, namespace: targets.TEMPORAL_NAMESPACE });
    const ids: string[] = [];
    for await (const execution of client.workflow.list({ query: "ExecutionStatus = 'Running'" })) {
      ids.push(execution.workflowId);
      if (ids.length >= 1_000) break;
    }
    await Promise.all(ids.map((id) => client.workflow.getHandle(id).terminate('an earlier test file left it running').catch(() => undefined)));
  } finally {
    await connection.close();
  }
}

// Three services, three independent resets: at once.
await Promise.all([freshDatabase(), emptyRedis(), noWorkflowLeftRunning()]);
