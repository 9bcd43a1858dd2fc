/**
 * The webhook dispatcher against commit order, with real PostgreSQL transactions and the real
 * Temporal server. Two ways a delivery could be lost:
 *   - an audit event numbered before another but committed after it, passed over by the dispatcher's
 *     cursor (it walks `seq` upwards): the audit chain's trigger numbers events under a transaction
 *     lock, so a second writer waits for the first's commit and commit order is seq order;
 *   - a delivery workflow started inside the dispatch transaction, whose first attempt runs before the
 *     commit, finds no delivery row and ends as gone while the row stays pending for ever: the
 *     dispatcher starts workflows only after its transaction has committed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvent } from '../../src/audit/audit-store.js';
import { createDatabase, type Database } from '../../src/connections/database.js';
import { temporalConnectionOptions } from '../../src/connections/temporal.js';
import { createLogger } from '../../src/logger.js';
import type { PeriodicPass } from '../../src/periodic-pass.js';
import { createWorkflowStarter, type WorkflowStarter } from '../../src/temporal/workflow-starter.js';
import { createWebhookDispatcher } from '../../src/webhooks/webhook-dispatcher.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';

let stack: Stack;
let receiver: Server;
let receiverUrl: string;
const received: Array<{ delivery: string; flag: string }> = [];
let starter: WorkflowStarter;
/** Another session: sees only what has been committed. */
let observer: pg.Client;
let writers: Database;
/** For every workflow start the dispatcher made: whether its delivery row was committed at that moment. */
const committedAtStart: boolean[] = [];
let dispatcher: PeriodicPass;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ delivery: String(req.headers['x-ripcord-delivery']), flag: (JSON.parse(body) as { flag: string }).flag });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  stack = await startStack({ WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_RETRY_INITIAL: '200ms' });
  // The worker's own dispatcher steps aside: this file's runs its passes, through a starter that
  // looks, from another session, for the delivery row of every workflow it starts.
  await stack.worker!.webhooks.stop();
  observer = new pg.Client({ connectionString: stack.config.DATABASE_URL });
  await observer.connect();
  writers = createDatabase(stack.config.DATABASE_URL, 2);
  starter = createWorkflowStarter({ ...temporalConnectionOptions(stack.config), namespace: stack.config.TEMPORAL_NAMESPACE, taskQueue: stack.config.TEMPORAL_TASK_QUEUE });
  const checking: WorkflowStarter = {
    client: starter.client,
    close: () => starter.close(),
    async start(request) {
      const { deliveryId } = request.args[0] as { deliveryId: string };
      committedAtStart.push((await observer.query('SELECT 1 FROM webhook_deliveries WHERE id = $1', [deliveryId])).rowCount === 1);
      return starter.start(request);
    },
  };
  dispatcher = createWebhookDispatcher({ db: stack.db, starter: checking, logger: createLogger('silent', 'test'), retry: { maxAttempts: 3, initialInterval: '200ms' } });
});

afterAll(async () => {
  await dispatcher?.stop();
  await starter?.close();
  await observer?.end();
  await writers?.end();
  await stack?.close();
  receiver?.close();
});

/** Dispatch passes until `count` workflows were started. */
async function dispatch(count: number): Promise<void> {
  let started = 0;
  await eventually(async () => (started += await dispatcher.runOnce()) >= count, `${count} delivery workflows started`);
  expect(started).toBe(count);
}

const flagEvent = (flag: string) => ({ userId: 'webhook-dispatch-test', action: 'flag.updated', resourceType: 'flag', resourceId: flag, environment: 'production', newValue: { enabled: true } });

describe('the webhook dispatcher and commit order', () => {
  it('an event numbered first but committed last is not passed over: the second writer waits for the first to commit', async () => {
    const hook = await stack.request('POST', '/api/v1/webhooks', { body: { url: `${receiverUrl}/order`, events: ['flag.updated'] } });
    expect(hook.status).toBe(201);
    const [first, second] = [uniqueKey('order-first'), uniqueKey('order-second')];
    const a = await writers.connect();
    const b = await writers.connect();
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      await appendAuditEvent(a, flagEvent(first));
      const bPid = (await b.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const secondWrite = appendAuditEvent(b, flagEvent(second));
      // The second writer is held by the chain's lock, not numbered yet.
      await eventually(async () => {
        const { rows } = await observer.query<{ wait_event_type: string | null; wait_event: string | null }>('SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = $1', [bPid]);
        return rows[0]?.wait_event_type === 'Lock' && rows[0]?.wait_event === 'advisory';
      }, 'the second writer to wait for the audit chain lock');
      // Nothing committed: a pass dispatches nothing and keeps its place.
      expect(await dispatcher.runOnce()).toBe(0);
      await a.query('COMMIT');
      await secondWrite;
      await b.query('COMMIT');
    } finally {
      a.release();
      b.release();
    }
    const seqs = (await observer.query<{ resource_id: string; seq: string }>('SELECT resource_id, seq FROM audit_events WHERE resource_id = ANY($1)', [[first, second]])).rows;
    const seqOf = (flag: string) => Number(seqs.find((row) => row.resource_id === flag)!.seq);
    expect(seqOf(first)).toBeLessThan(seqOf(second));

    await dispatch(2);
    await eventually(async () => received.filter((r) => r.flag === first || r.flag === second).length === 2 ? true : undefined, 'both deliveries to arrive');
    expect(received.filter((r) => r.flag === first || r.flag === second).map((r) => r.flag).sort()).toEqual([first, second].sort());
    expect((await stack.request('DELETE', `/api/v1/webhooks/${hook.body.id}`)).status).toBe(204);
  });

  it('starts a delivery workflow only once its delivery row is committed, so its first attempt finds it', async () => {
    const hook = await stack.request('POST', '/api/v1/webhooks', { body: { url: `${receiverUrl}/commit`, events: ['flag.killed'] } });
    expect(hook.status).toBe(201);
    const flags = [uniqueKey('commit-a'), uniqueKey('commit-b'), uniqueKey('commit-c')];
    for (const key of flags) {
      expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
      expect((await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'commit order drill' } })).status).toBe(201);
    }
    committedAtStart.length = 0;
    await dispatch(3);
    expect(committedAtStart).toEqual([true, true, true]);

    const log = await eventually(async () => {
      const answer = await stack.request('GET', `/api/v1/webhooks/${hook.body.id}/deliveries?limit=50`);
      const deliveries = answer.body.deliveries as Array<{ status: string; attempts: number; payload: { flag: string } }>;
      return deliveries.length === 3 && deliveries.every((d) => d.status === 'succeeded') ? deliveries : undefined;
    }, 'three succeeded deliveries', 30_000);
    expect(log.map((d) => d.attempts)).toEqual([1, 1, 1]);
    const arrived = received.filter((r) => flags.includes(r.flag));
    expect(arrived.map((r) => r.flag).sort()).toEqual([...flags].sort());
    expect(new Set(arrived.map((r) => r.delivery)).size).toBe(3);
  });
});
