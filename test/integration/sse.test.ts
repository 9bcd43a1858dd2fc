import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, createToken, onForEveryone, openSse, putConfig, type SseClient } from './serving-helpers.js';

let stack: Stack;
let clientToken: string;
const open: SseClient[] = [];

beforeAll(async () => {
  stack = await startStack({ STREAM_HEARTBEAT_SECONDS: '0.2' });
  clientToken = await createToken(stack.db, 'client');
});
afterAll(async () => {
  for (const client of open) client.close();
  await stack?.close();
});

async function connect(headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await openSse(`${stack.api.url}/api/v1/stream`, { authorization: `Bearer ${clientToken}`, ...headers });
  open.push(client);
  await client.next((event) => event.event === 'ready');
  return client;
}

const data = (event: { data: string }) => JSON.parse(event.data) as Record<string, unknown>;

describe('change stream (SSE)', () => {
  it('delivers a change and a kill to a connected client, with the new version as the event id', async () => {
    const key = uniqueKey('sse');
    await createFlag(stack, key, { enabled: false, value: true, off_value: false });
    const client = await connect();

    const version = await putConfig(stack, key, onForEveryone);
    const updated = await client.next((event) => event.event === 'flag.updated' && data(event).key === key);
    expect(updated.id).toBe(String(version));
    expect(data(updated)).toMatchObject({ key, environment: 'production', version, enabled: true, kill_switch: false });

    const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'sse test' } });
    expect(kill.status).toBe(201);
    const killed = await client.next((event) => event.event === 'flag.killed' && data(event).key === key);
    expect(data(killed)).toMatchObject({ key, version: kill.body.version, kill_switch: true });

    const restore = await stack.request('DELETE', `/api/v1/flags/${key}/environments/production/kill-switch`);
    expect(restore.status).toBe(200);
    const restored = await client.next((event) => event.event === 'flag.restored' && data(event).key === key);
    expect(Number(restored.id)).toBeGreaterThan(Number(killed.id));
  });

  it('sends heartbeats that leave the last event id alone', async () => {
    const client = await connect();
    const heartbeat = await client.next((event) => event.event === 'heartbeat');
    expect(heartbeat.id).toBeUndefined();
    expect(data(heartbeat)).toMatchObject({ at: expect.any(String), version: expect.any(Number) });
  });

  it('replays every flag changed after Last-Event-ID on reconnect', async () => {
    const key = uniqueKey('sse-resume');
    await createFlag(stack, key, { enabled: false, value: true, off_value: false });
    const first = await connect();
    const ready = await first.next((event) => event.event === 'ready');
    first.close();

    const missed = await putConfig(stack, key, onForEveryone);
    const resumed = await connect({ 'last-event-id': ready.id! });
    const replayed = resumed.events.filter((event) => event.event.startsWith('flag.'));
    expect(replayed.map((event) => data(event).key)).toContain(key);
    expect(replayed.every((event) => Number(event.id) > Number(ready.id))).toBe(true);
    expect(replayed.find((event) => data(event).key === key)!.id).toBe(String(missed));
  });

  it('keeps each token to its environment, and refuses a missing token', async () => {
    const staging = await createToken(stack.db, 'server', 'staging');
    const response = await fetch(`${stack.api.url}/api/v1/stream`, { headers: { authorization: `Bearer ${staging}`, 'x-environment': 'production' } });
    expect(response.status).toBe(403);
    expect((await fetch(`${stack.api.url}/api/v1/stream`)).status).toBe(401);
    const admin = await openSse(`${stack.api.url}/api/v1/stream`, { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-environment': 'staging' });
    open.push(admin);
    expect(data(await admin.next((event) => event.event === 'ready'))).toMatchObject({ environment: 'staging' });
  });
});
