/**
 * Webhooks keep the README's promise: the audit log is the outbox, so an event accepted while the
 * worker or Temporal is down is delivered once after it returns; `rollout.*` events are delivered;
 * a disabled webhook receives nothing. "Nothing" is read from the delivery log once the dispatcher
 * has provably passed the event (it walks the audit log in order and writes every webhook's row for
 * an event in one transaction), never from "nothing has arrived yet".
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startWorkerProcess, type WorkerProcess } from '../../src/main/worker-process.js';
import { eventually, sharedBundle, stackService, startStack, uniqueKey, type Stack } from './harness.js';

interface Received {
  path: string;
  delivery: string;
  event: string;
  body: { flag: string; action: string; event: string };
}

let stack: Stack;
let worker: WorkerProcess | null = null;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];

const startWorker = async () => {
  worker = await startWorkerProcess(stack.config, createLogger('silent', 'test-worker'), await sharedBundle());
};
const stopWorker = async () => {
  await worker?.close();
  worker = null;
};

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({
        path: req.url ?? '', delivery: String(req.headers['x-ripcord-delivery']), event: String(req.headers['x-ripcord-event']), body: JSON.parse(body),
      });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  // The worker (with the webhook dispatcher) is the test's own, so the test can take it away.
  stack = await startStack({ WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_RETRY_INITIAL: '200ms' }, { worker: false });
  await startWorker();
});
afterAll(async () => {
  await stackService('up', 'temporal'); // leave the stack as we found it, even when a test failed
  await stopWorker();
  await stack?.close();
  receiver?.close();
});

async function hook(path: string, events: string[], enabled = true): Promise<string> {
  const created = await stack.request('POST', '/api/v1/webhooks', { body: { url: `${receiverUrl}${path}`, events, enabled } });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

interface Delivery {
  event: string;
  status: string;
  attempts: number;
  payload: { flag: string; action: string };
}

async function deliveries(webhookId: string): Promise<Delivery[]> {
  const answer = await stack.request('GET', `/api/v1/webhooks/${webhookId}/deliveries?limit=200`);
  expect(answer.status).toBe(200);
  return answer.body.deliveries as Delivery[];
}

/**
 * Waits until the webhook's log has `count` deliveries about `flag`, all succeeded. When it doesn't,
 * the failure says whether a delivery is missing or late: the flag's audit events (what the
 * dispatcher walks), how far the dispatcher got, and the log as last read (status, attempts, error).
 */
async function delivered(webhookId: string, flag: string, count: number, timeoutMs = 30_000): Promise<Delivery[]> {
  let log: Delivery[] = [];
  try {
    return await eventually(async () => {
      log = (await deliveries(webhookId)).filter((d) => d.payload.flag === flag);
      return log.length === count && log.every((d) => d.status === 'succeeded') ? log : undefined;
    }, `${count} succeeded deliveries about ${flag}`, timeoutMs);
  } catch (error) {
    const audit = await stack.ownerDb.query('SELECT seq, action, timestamp FROM audit_events WHERE resource_id = $1 ORDER BY seq', [flag]);
    const cursor = await stack.ownerDb.query('SELECT last_seq FROM webhook_dispatch_cursor');
    const seen = log.map(({ payload: _payload, ...delivery }) => delivery);
    throw new Error(`${(error as Error).message}\naudit events: ${JSON.stringify(audit.rows)}\ndispatch cursor: ${JSON.stringify(cursor.rows)}\ndeliveries: ${JSON.stringify(seen)}`, { cause: error });
  }
}

async function killAndRestore(key: string): Promise<void> {
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'durability drill' } });
  expect(kill.status).toBe(201);
  expect((await stack.request('DELETE', `/api/v1/flags/${key}/environments/production/kill-switch`)).status).toBe(200);
}

/** What arrived about a flag at a path: event → number of deliveries, each delivery id once. */
function arrivals(path: string, flag: string): Record<string, number> {
  const about = received.filter((r) => r.path === path && r.body.flag === flag);
  expect(new Set(about.map((r) => r.delivery)).size).toBe(about.length);
  const byEvent: Record<string, number> = {};
  for (const r of about) byEvent[r.event] = (byEvent[r.event] ?? 0) + 1;
  return byEvent;
}

describe('webhooks are durable', () => {
  it('events accepted while the worker is down are delivered once after it returns', async () => {
    const id = await hook('/worker-down', ['flag.killed', 'flag.restored']);
    await stopWorker();
    const key = uniqueKey('hook-worker-down');
    await killAndRestore(key);
    // The dispatcher runs in the worker: with none running, nothing is dispatched, so no delivery exists.
    expect(await deliveries(id)).toEqual([]);

    await startWorker();
    const log = await delivered(id, key, 2);
    expect(log.map((d) => d.event).sort()).toEqual(['flag.killed', 'flag.restored']);
    expect(log.map((d) => d.attempts)).toEqual([1, 1]);
    expect(arrivals('/worker-down', key)).toEqual({ 'flag.killed': 1, 'flag.restored': 1 });
    await stack.request('DELETE', `/api/v1/webhooks/${id}`);
  });

  it('events accepted while Temporal is down are delivered once after it returns', async () => {
    const id = await hook('/temporal-down', ['flag.killed', 'flag.restored']);
    const key = uniqueKey('hook-temporal-down');
    await stackService('down', 'temporal');
    try {
      await killAndRestore(key);
      // The dispatcher still records both deliveries; their workflow starts wait in the outbox, so
      // none is attempted while Temporal is away.
      await eventually(async () => {
        const log = await deliveries(id);
        return log.length === 2 && log.every((d) => d.status === 'pending' && d.attempts === 0);
      }, 'both deliveries recorded, pending, while Temporal is down');
    } finally {
      await stackService('up', 'temporal');
    }
    const log = await delivered(id, key, 2, 60_000);
    expect(log.map((d) => d.event).sort()).toEqual(['flag.killed', 'flag.restored']);
    expect(arrivals('/temporal-down', key)).toEqual({ 'flag.killed': 1, 'flag.restored': 1 });
    await stack.request('DELETE', `/api/v1/webhooks/${id}`);
  });

  it('delivers rollout.* events: every step, and an abort once whether or not it rolls back', async () => {
    const id = await hook('/rollouts', ['rollout.*']);
    const rollouts = (key: string) => `/api/v1/flags/${key}/environments/production/rollouts`;
    const flag = async (prefix: string) => {
      const key = uniqueKey(prefix);
      expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
      return key;
    };
    const completed = await flag('hook-rollout-steps');
    const steps = { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 second' }, { percentage: 100 }] };
    expect((await stack.request('POST', rollouts(completed), { body: { plan: steps } })).status).toBe(201);

    const aborted: Record<string, string> = {};
    for (const rollback of [false, true]) {
      const key = await flag(`hook-rollout-abort-${rollback}`);
      const plan = { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] };
      expect((await stack.request('POST', rollouts(key), { body: { plan } })).status).toBe(201);
      await eventually(async () => (await stack.request('GET', rollouts(key))).body.current?.percentage === 10, 'the first step', 30_000);
      expect((await stack.request('POST', `${rollouts(key)}/current/abort`, { body: { rollback } })).status).toBe(200);
      aborted[String(rollback)] = key;
    }

    expect((await delivered(id, completed, 2)).map((d) => d.event)).toEqual(['rollout.step', 'rollout.step']);
    for (const key of Object.values(aborted)) {
      expect((await delivered(id, key, 2)).map((d) => d.event).sort()).toEqual(['rollout.aborted', 'rollout.step']);
    }
    expect(arrivals('/rollouts', completed)).toEqual({ 'rollout.step': 2 });
    for (const key of Object.values(aborted)) expect(arrivals('/rollouts', key)).toEqual({ 'rollout.aborted': 1, 'rollout.step': 1 });
    await stack.request('DELETE', `/api/v1/webhooks/${id}`);
  });

  it('a disabled webhook receives nothing', async () => {
    const enabled = await hook('/enabled', ['flag.killed']);
    const disabled = await hook('/disabled', ['flag.killed'], false);
    const key = uniqueKey('hook-disabled');
    expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
    expect((await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'disabled drill' } })).status).toBe(201);
    // Once the enabled hook's delivery has arrived, the dispatcher has passed the kill for every hook.
    await delivered(enabled, key, 1);
    expect(arrivals('/enabled', key)).toEqual({ 'flag.killed': 1 });
    expect(await deliveries(disabled)).toEqual([]);
    expect(received.filter((r) => r.path === '/disabled')).toEqual([]);
    for (const id of [enabled, disabled]) await stack.request('DELETE', `/api/v1/webhooks/${id}`);
  });
});
