import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DestinationStream } from 'pino';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { loadConfig, type Config } from '../../src/config.js';
import { temporalConnectionOptions } from '../../src/connections/temporal.js';
import { createLogger } from '../../src/logger.js';
import { startApiServer, type ApiServer } from '../../src/main/api-server.js';
import { bundleWorkflows, startWorkerProcess, type WorkerProcess } from '../../src/main/worker-process.js';
import { createDatabase, type Database } from '../../src/connections/database.js';

export const ADMIN_TOKEN = 'integration-test-admin-token';
export const AUDIT_CHECKPOINT_KEY = 'integration-test-audit-checkpoint-key-0123456789';
const root = fileURLToPath(new URL('../..', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/**
 * The workflow code: bundled once per run by the global setup (test/integration/global-setup.ts),
 * which hands its path to every file (WORKFLOW_BUNDLE, set by worker-setup.ts; worker processes a
 * test starts read it too); a process without it bundles once for itself.
 */
export const sharedBundle = () => (bundle ??= process.env.WORKFLOW_BUNDLE
  ? Promise.all([readFile(process.env.WORKFLOW_BUNDLE, 'utf8'), readFile(`${process.env.WORKFLOW_BUNDLE}.map`, 'utf8')]).then(([code, sourceMap]) => ({ code, sourceMap }))
  : bundleWorkflows());

/** The real API (port 0) and worker against the stack's Postgres, Redis and Temporal, on a task queue of its own. */
// Response bodies are whatever the API sent; tests assert on their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface Stack {
  config: Config;
  api: ApiServer;
  worker: WorkerProcess | null;
  /** As the application role (DATABASE_URL), like the API and worker. */
  db: Database;
  /** As the schema owner (MIGRATION_DATABASE_URL), for tests that play an attacker with owner rights. */
  ownerDb: Database;
  temporal: Client;
  request(method: string, path: string, options?: { body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null }): Promise<{ status: number; body: Json; headers: Headers }>;
  close(): Promise<void>;
}

export async function startStack(overrides: Record<string, string> = {}, options: { worker?: boolean; log?: DestinationStream } = {}): Promise<Stack> {
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    RIPCORD_ADMIN_TOKEN: ADMIN_TOKEN,
    // Verify checks checkpoints with this key; the worker's timer is off unless a test turns it on
    // (a checkpoint is an audit event, and other tests count audit events).
    AUDIT_CHECKPOINT_KEY: AUDIT_CHECKPOINT_KEY,
    AUDIT_CHECKPOINT_SECONDS: '0',
    // Every test request comes from 127.0.0.1 and many send bad tokens on purpose: the per-address
    // failed-authentication limit is tested on its own (security/auth-limits.test.ts).
    AUTH_FAILURES_PER_MINUTE: '0',
    // The tests' webhook receivers listen on loopback, which webhooks may not reach unless allowed
    // (security/webhook-destinations.test.ts proves the refusal without this).
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    TEMPORAL_TASK_QUEUE: `ripcord-test-${randomUUID()}`,
    // A digest schedule per test stack would pile up in the shared Temporal (lifecycle-digest.test.ts turns it on).
    LIFECYCLE_DIGEST_SCHEDULE: 'off',
    // Closing a test stack waits this long at most for running activities (30 s by default), so a
    // teardown never holds a file for half a minute (infra-worker-shutdown.test.ts sets its own).
    WORKER_SHUTDOWN_GRACE_SECONDS: '2',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...overrides,
  });
  const logger = createLogger(config.LOG_LEVEL, 'test', options.log);
  // Without an in-process worker, a test runs its own worker processes (e.g. to kill one mid-rollout).
  const worker = options.worker === false ? null : await startWorkerProcess(config, logger, await sharedBundle());
  const api = await startApiServer(config, logger);
  const db = createDatabase(config.DATABASE_URL, 2);
  const ownerDb = createDatabase(config.MIGRATION_DATABASE_URL ?? config.DATABASE_URL, 1);
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });

  return {
    config, api, worker, db, ownerDb, temporal,
    async request(method, path, options = {}) {
      const token = options.token === undefined ? ADMIN_TOKEN : options.token;
      const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
      if (token) headers.authorization = `Bearer ${token}`;
      const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      const response = await fetch(`${api.url}${path}`, { method, headers, body });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async close() {
      // Workflows left running on this stack's own task queue have no worker after this: they would
      // keep their ids (rollout:<env>:<flag>, pipeline:<flag>) busy for later runs against the same
      // Temporal and answer their steering with 503. A queue given by the test may be resumed by
      // another stack, so only the stack's own queue is cleared.
      if (!overrides.TEMPORAL_TASK_QUEUE) await terminateRunning(temporal, config.TEMPORAL_TASK_QUEUE);
      await api.close();
      await worker?.close();
      await connection.close();
      await db.end();
      await ownerDb.end();
    },
  };
}

/** Polls `probe` until it returns a truthy value or the bound runs out; no fixed sleeps. */
export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * The handle of a workflow once Temporal has it: a kill answers before its workflow's start reaches
 * Temporal (workflow.status 'starting'), so a test that reads the workflow right after waits for it.
 */
export async function startedWorkflow(temporal: Client, workflowId: string, timeoutMs = 15_000): Promise<WorkflowHandle> {
  const handle = temporal.workflow.getHandle(workflowId);
  await eventually(() => handle.describe(), `workflow ${workflowId} to start`, timeoutMs);
  return handle;
}

/** Terminates the workflows still running on a task queue (bounded: the first 1,000). */
async function terminateRunning(temporal: Client, taskQueue: string): Promise<void> {
  const ids: string[] = [];
  const deadline = Date.now() + 10_000;
  try {
    await temporal.withDeadline(deadline, async () => {
      for await (const execution of temporal.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
        ids.push(execution.workflowId);
        if (ids.length >= 1_000) break;
      }
    });
  } catch {
    return; // Temporal unreachable (a test stopped it): nothing to clear that it could reach.
  }
  await temporal.withDeadline(deadline, () =>
    Promise.all(ids.map((id) => temporal.workflow.getHandle(id).terminate('test stack closed').catch(() => undefined))));
}

/** Stops or starts one stack service through the same scripts the README uses. */
export async function stackService(action: 'up' | 'down', service: 'temporal' | 'redis' | 'postgres'): Promise<void> {
  // The worker's own namespace is not the stack's (stack-up would write it into .stack/env).
  const { TEMPORAL_NAMESPACE: _worker, ...env } = process.env;
  await promisify(execFile)('bash', [`${root}/scripts/stack-${action}.sh`, service], { cwd: root, timeout: 120_000, env });
  if (action === 'down') await requireStopped(service);
}

/**
 * The outage tests stop a service and expect its absence. stack-down stops only what this checkout's
 * scripts started (a service someone else runs on the port is reused, never stopped), so say so plainly
 * instead of letting a test fail on an outage that never happened.
 */
async function requireStopped(service: 'temporal' | 'redis' | 'postgres'): Promise<void> {
  const target = service === 'temporal' ? new URL(`tcp://${process.env.TEMPORAL_ADDRESS}`) : new URL(service === 'redis' ? process.env.REDIS_URL! : process.env.DATABASE_URL!);
  const port = Number(target.port);
  const closed = () =>
    new Promise<boolean>((resolve) => {
      const socket = connect({ host: target.hostname, port, timeout: 500 }, () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true)).once('timeout', () => (socket.destroy(), resolve(true)));
    });
  await eventually(
    closed,
    `${service} on ${target.hostname}:${port} to stop. It still answers after stack-down, so it was not started by this ` +
      `checkout's scripts (another checkout's stack or a system service) and this outage test can't stop it. Stop that ` +
      `service, or give this checkout ports of its own (RIPCORD_PG_PORT, RIPCORD_REDIS_PORT, RIPCORD_TEMPORAL_PORT in .stack.local)`,
    5_000,
  );
}

export const uniqueKey = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
