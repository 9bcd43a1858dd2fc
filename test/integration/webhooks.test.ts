import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';

let stack: Stack;
let receiver: Server;
let receiverUrl: string;
const received: Array<{ path: string; headers: IncomingHttpHeaders; body: string; at: number }> = [];

beforeAll(async () => {
  // A receiver on loopback: /ok answers 204, /broken answers 500 every time.
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body, at: performance.now() });
      res.statusCode = req.url?.startsWith('/broken') ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  stack = await startStack({ WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_RETRY_INITIAL: '200ms' });
});
afterAll(async () => {
  await stack?.close();
  receiver?.close();
});

describe('webhooks', () => {
  it('delivers a kill, signed with HMAC-SHA256 over timestamp and body, and logs the delivery', async () => {
    const secret = 'a-receiver-shared-secret';
    const hook = await stack.request('POST', '/api/v1/webhooks', { body: { url: `${receiverUrl}/ok`, events: ['flag.killed'], secret } });
    expect(hook.status).toBe(201);
    expect(hook.body.secret).toBe(secret);
    expect((await stack.request('GET', '/api/v1/webhooks')).body.webhooks.find((w: { id: string }) => w.id === hook.body.id)).not.toHaveProperty('secret');

    const key = uniqueKey('hooked');
    await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } });
    await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'webhook test' } });

    const delivery = await eventually(async () => received.find((r) => r.path === '/ok' && r.body.includes(key)), 'the delivery');
    expect(delivery.headers['x-ripcord-event']).toBe('flag.killed');
    const timestamp = String(delivery.headers['x-ripcord-timestamp']);
    const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${delivery.body}`).digest('hex')}`;
    expect(delivery.headers['x-ripcord-signature']).toBe(expected);
    const payload = JSON.parse(delivery.body);
    expect(payload).toMatchObject({ event: 'flag.killed', flag: key, environment: 'production', reason: 'webhook test', id: delivery.headers['x-ripcord-delivery'] });
    const log = await eventually(async () => {
      const deliveries = (await stack.request('GET', `/api/v1/webhooks/${hook.body.id}/deliveries`)).body.deliveries;
      return deliveries?.[0]?.status === 'succeeded' ? deliveries : undefined;
    }, 'the delivery log');
    // Only the subscribed event. The dispatcher walks the audit log in order and writes a delivery
    // row before it starts one, so once the kill (after the flag's creation) has its row, the
    // creation (flag.updated) has been passed over: the log is complete, and so is what arrived.
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ event: 'flag.killed', attempts: 1, last_status_code: 204 });
    expect(received.filter((r) => r.path === '/ok' && r.body.includes(key))).toHaveLength(1);
    await stack.request('DELETE', `/api/v1/webhooks/${hook.body.id}`);
  });

  it('retries a failing receiver with exponential backoff (200 ms, then 400 ms), then marks the delivery failed', async () => {
    const hook = await stack.request('POST', '/api/v1/webhooks', { body: { url: `${receiverUrl}/broken`, events: ['flag.updated'] } });
    expect(hook.status).toBe(201);
    expect(hook.body.secret).toMatch(/^whsec_/);
    const key = uniqueKey('failing');
    await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } });

    const failed = await eventually(async () => {
      const deliveries = (await stack.request('GET', `/api/v1/webhooks/${hook.body.id}/deliveries`)).body.deliveries;
      return deliveries?.find((d: { status: string }) => d.status === 'failed');
    }, 'the delivery to be marked failed', 30_000);
    expect(failed).toMatchObject({ event: 'flag.updated', attempts: 3, last_status_code: 500 });
    const attempts = received.filter((r) => r.path === '/broken' && r.body.includes(key));
    expect(attempts).toHaveLength(3);
    // WEBHOOK_RETRY_INITIAL 200ms, doubling: the second attempt comes at least 200 ms after the first,
    // the third at least 400 ms after the second (lower bounds: a slow machine only widens them).
    const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(200);
    expect(gaps[1]).toBeGreaterThanOrEqual(400);
    await stack.request('DELETE', `/api/v1/webhooks/${hook.body.id}`);
  });

  it('refuses bad registrations naming the field, and non-admins', async () => {
    const bad = await stack.request('POST', '/api/v1/webhooks', { body: { url: 'ftp://example.com', events: ['flag.exploded'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['body.url', 'body.events.0']));
    expect((await stack.request('GET', '/api/v1/webhooks/not-a-uuid/deliveries')).status).toBe(400);
    expect((await stack.request('DELETE', '/api/v1/webhooks/8f1d1f7e-9c55-4a2b-9f3e-0c1d2e3f4a5b')).status).toBe(404);
    expect((await stack.request('GET', '/api/v1/webhooks', { token: null })).status).toBe(401);
  });
});
