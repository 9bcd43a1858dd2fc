import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../../../src/auth/secret-box.js';
import { parseSecretKey } from '../../../src/config-parsers.js';
import { eventually, startStack, uniqueKey, type Stack } from '../harness.js';

// Webhook destinations: an upper-case scheme is normalised (never a 500); hosts that
// resolve to loopback, private, link-local (metadata), unspecified or IPv4-mapped addresses are refused
// with 400 naming `url` at create and update, and again at delivery, unless WEBHOOK_ALLOWED_HOSTS allows
// them. Here only 127.0.0.2 is allowed (the harness allows 127.0.0.1 for the other tests' receivers).

let stack: Stack;
const receivers: Server[] = [];
const received: Record<string, string[]> = { '127.0.0.1': [], '127.0.0.2': [] };

async function receiverOn(host: '127.0.0.1' | '127.0.0.2'): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received[host]!.push(body);
      res.statusCode = 204;
      res.end();
    });
  });
  receivers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

let allowedUrl: string;
let loopbackUrl: string;
beforeAll(async () => {
  allowedUrl = await receiverOn('127.0.0.2');
  loopbackUrl = await receiverOn('127.0.0.1');
  stack = await startStack({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.2', WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_RETRY_INITIAL: '200ms' });
});
afterAll(async () => {
  await stack?.close();
  for (const server of receivers) server.close();
});

const createHook = (url: string) => stack.request('POST', '/api/v1/webhooks', { body: { url, events: ['flag.killed'] } });

async function killNewFlag(): Promise<string> {
  const key = uniqueKey('hook-dest');
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  expect((await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'webhook destination test' } })).status).toBeLessThan(300);
  return key;
}

describe('webhook destinations', () => {
  it('normalises an upper-case scheme and host instead of failing with 500', async () => {
    const port = new URL(allowedUrl).port;
    const hook = await createHook(`HTTP://127.0.0.2:${port}/Upper`);
    expect(hook.status).toBe(201);
    expect(hook.body.url).toBe(`http://127.0.0.2:${port}/Upper`);
    await stack.request('DELETE', `/api/v1/webhooks/${hook.body.id}`);
  });

  it.each([
    ['loopback', 'http://127.0.0.1/hook'],
    ['loopback, upper-case scheme', 'HTTP://127.0.0.1/hook'],
    ['loopback in hex', 'http://0x7f000001/hook'],
    ['loopback as a decimal number', 'http://2130706433/hook'],
    ['loopback, short form', 'http://127.1/hook'],
    ['localhost', 'http://localhost/hook'],
    ['LOCALHOST', 'HTTPS://LOCALHOST./hook'],
    ['IPv6 loopback', 'http://[::1]/hook'],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/hook'],
    ['IPv4-mapped IPv6 in hex', 'http://[::ffff:7f00:1]/hook'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/'],
    ['IPv6 link-local', 'http://[fe80::1]/hook'],
    ['AWS IPv6 metadata (unique local)', 'http://[fd00:ec2::254]/hook'],
    ['unspecified', 'http://0.0.0.0/hook'],
    ['IPv6 unspecified', 'http://[::]/hook'],
    ['private 10/8', 'http://10.0.0.1/hook'],
    ['private 172.16/12', 'http://172.16.5.4/hook'],
    ['private 192.168/16', 'https://192.168.1.1/hook'],
    ['carrier-grade NAT', 'http://100.64.0.1/hook'],
    ['NAT64 of loopback', 'http://[64:ff9b::7f00:1]/hook'],
    ['IPv4-compatible IPv6 of cloud metadata', 'http://[::a9fe:a9fe]/latest/meta-data/'],
    ['IPv4-compatible IPv6 of loopback', 'http://[::7f00:1]/hook'],
    ['IPv4-compatible IPv6 of loopback, dotted', 'http://[::127.0.0.1]/hook'],
    ['IPv4-compatible IPv6 of a private address', 'http://[::a00:1]/hook'],
    ['IPv4-compatible IPv6 of a public address', 'http://[::808:808]/hook'],
    ['a host that does not resolve', 'http://no-such-host.invalid/hook'],
  ])('refuses %s with 400 naming url', async (_what, url) => {
    const refused = await createHook(url);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('VALIDATION_FAILED');
    expect(refused.body.error.details).toEqual([expect.objectContaining({ path: 'body.url' })]);
  });

  it('names the resolved address and the setting in the refusal, and refuses it on update too', async () => {
    const refused = await createHook('http://localhost:9/hook');
    expect(refused.body.error.details[0].message).toMatch(/resolves to (127\.0\.0\.1|::1) \(loopback\).*WEBHOOK_ALLOWED_HOSTS/);
    const hook = await createHook(`${allowedUrl}/ok`);
    expect(hook.status).toBe(201);
    const patched = await stack.request('PATCH', `/api/v1/webhooks/${hook.body.id}`, { body: { url: 'http://169.254.169.254/' } });
    expect(patched.status).toBe(400);
    expect(patched.body.error.details).toEqual([expect.objectContaining({ path: 'body.url', message: expect.stringContaining('169.254.169.254 (linkLocal)') })]);
    await stack.request('DELETE', `/api/v1/webhooks/${hook.body.id}`);
  });

  it('refuses at delivery a stored destination in ::/96 (IPv4-compatible IPv6), once, without retrying', async () => {
    const box = createSecretBox(parseSecretKey(stack.config.WEBHOOK_SECRET_KEY!));
    const stored = await stack.ownerDb.query(
      `INSERT INTO webhooks (url, secret, events, enabled, created_by) VALUES ($1, $2, '{flag.killed}', true, 'test') RETURNING id`,
      ['http://[::a9fe:a9fe]/latest/meta-data/', box.encrypt('a-secret-for-the-compatible-row')],
    );
    const id = stored.rows[0].id as string;
    const key = await killNewFlag();
    const failed = await eventually(async () => {
      const deliveries = (await stack.request('GET', `/api/v1/webhooks/${id}/deliveries`)).body.deliveries;
      return deliveries?.find((d: { status: string; payload: { flag?: string } }) => d.status === 'failed' && d.payload.flag === key);
    }, 'the refused delivery to be marked failed');
    expect(failed.attempts).toBe(1);
    expect(failed.last_error).toMatch(/resolves to ::a9fe:a9fe \(ipv4Compatible\)/);
    await stack.request('DELETE', `/api/v1/webhooks/${id}`);
  });

  it('delivers to an allow-listed address, and refuses at delivery a stored destination that is not allowed (DNS rebinding)', async () => {
    const allowed = await createHook(`${allowedUrl}/ok`);
    expect(allowed.status).toBe(201);
    // A row whose host passed the check at creation and resolves to loopback by the time of delivery,
    // as a rebinding DNS server would arrange: written straight into the table.
    const box = createSecretBox(parseSecretKey(stack.config.WEBHOOK_SECRET_KEY!));
    const rebound = await stack.ownerDb.query(
      `INSERT INTO webhooks (url, secret, events, enabled, created_by) VALUES ($1, $2, '{flag.killed}', true, 'test') RETURNING id`,
      [`${loopbackUrl.replace('127.0.0.1', 'localhost')}/rebound`, box.encrypt('a-secret-for-the-rebound-row')],
    );
    const reboundId = rebound.rows[0].id as string;

    const key = await killNewFlag();
    await eventually(async () => received['127.0.0.2']!.find((body) => body.includes(key)), 'the delivery to the allowed receiver');
    const failed = await eventually(async () => {
      const deliveries = (await stack.request('GET', `/api/v1/webhooks/${reboundId}/deliveries`)).body.deliveries;
      return deliveries?.find((d: { status: string; payload: { flag?: string } }) => d.status === 'failed' && d.payload.flag === key);
    }, 'the refused delivery to be marked failed');
    // Refused once, not retried: the receiver on loopback never heard of it.
    expect(failed.attempts).toBe(1);
    expect(failed.last_error).toMatch(/localhost' resolves to (127\.0\.0\.1|::1) \(loopback\)/);
    expect(received['127.0.0.1']!.filter((body) => body.includes(key))).toEqual([]);
    await stack.request('DELETE', `/api/v1/webhooks/${allowed.body.id}`);
    await stack.request('DELETE', `/api/v1/webhooks/${reboundId}`);
  });
});
