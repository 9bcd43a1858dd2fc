import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startApiServer, type ApiServer } from '../../src/main/api-server.js';
import { createClient, flags, type ClientOptionsInput, type LocalClient, type RipcordSdkError } from '../../packages/node/src/index.js';
import { RipcordProvider } from '../../packages/node/src/openfeature.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, createToken, onForEveryone, putConfig } from './serving-helpers.js';

let stack: Stack;
let serverToken: string;
let clientToken: string;
const closers: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  stack = await startStack({ STREAM_HEARTBEAT_SECONDS: '0.5' });
  serverToken = await createToken(stack.db, 'server');
  clientToken = await createToken(stack.db, 'client');
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await stack?.close();
});

function localClient(options: Partial<ClientOptionsInput> = {}, url = stack.api.url): LocalClient {
  const client = createClient({ url, token: serverToken, backoff: { initialMs: 50, maxMs: 500 }, heartbeatTimeoutMs: 3_000, ...options, mode: 'local' });
  closers.push(() => client.close());
  return client;
}

const kill = (key: string) => stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'sdk test' } });

describe('definitions endpoint', () => {
  it('hands a server token its environment with ETag/304, and refuses client tokens and other environments', async () => {
    const key = uniqueKey('sdk-defs');
    await createFlag(stack, key, onForEveryone);
    const first = await stack.request('GET', '/api/v1/definitions', { token: serverToken });
    expect(first.status).toBe(200);
    expect(first.body.environment).toBe('production');
    expect(first.body.flags.find((f: { key: string }) => f.key === key)).toMatchObject({ key, type: 'boolean', environment: 'production', config: { enabled: true } });
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    expect((await stack.request('GET', '/api/v1/definitions', { token: serverToken, headers: { 'if-none-match': etag } })).status).toBe(304);

    await putConfig(stack, key, { ...onForEveryone, value: false, off_value: true });
    const changed = await stack.request('GET', '/api/v1/definitions', { token: serverToken, headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.body.version).toBeGreaterThan(first.body.version);

    expect((await stack.request('GET', '/api/v1/definitions', { token: clientToken })).status).toBe(403);
    expect((await stack.request('GET', '/api/v1/definitions?environment=staging', { token: serverToken })).status).toBe(403);
    expect((await stack.request('GET', '/api/v1/definitions', { token: null })).status).toBe(401);
    const admin = await stack.request('GET', '/api/v1/definitions?environment=staging');
    expect(admin.status).toBe(200);
    expect(admin.body.environment).toBe('staging');
  });
});

describe('stream token in the URL (for browsers)', () => {
  it('accepts ?token= for client tokens only, answering a server token like an unknown one (no validity oracle)', async () => {
    const open = async (token: string) => {
      const controller = new AbortController();
      const response = await fetch(`${stack.api.url}/api/v1/stream?token=${token}`, { signal: controller.signal });
      controller.abort();
      return response.status;
    };
    expect(await open(clientToken)).toBe(200);
    expect(await open(serverToken)).toBe(401);
    expect(await open('rc_client_unknown')).toBe(401);
  });
});

describe('Node SDK, local mode, against the running API', () => {
  it('evaluates like the API does, for a percentage rollout and a list segment', async () => {
    const segment = uniqueKey('sdk-seg');
    expect((await stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['vip-1', 'vip-2'] } })).status).toBe(201);
    const key = uniqueKey('sdk-split');
    await createFlag(stack, key, {
      enabled: true, value: 'treatment', off_value: 'control',
      targeting: [{ id: 'vips', segments: [segment], percentage: 100 }], rollout: { percentage: 30, strategy: 'gradual' },
    }, { type: 'string' });
    const client = localClient();
    expect(await client.ready()).toBe('server');
    await eventually(async () => client.status().version >= (await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.version, 'the new flag');

    const users = ['vip-1', 'vip-2', ...Array.from({ length: 40 }, (_, i) => `user-${i}`)];
    for (const targetingKey of users) {
      const remote = await stack.request('POST', '/api/v1/evaluate', { token: serverToken, body: { context: { targeting_key: targetingKey }, flags: [key] } });
      const local = client.details(key, 'default', { targetingKey });
      expect({ value: local.value, variant: local.variant, reason: local.reason }, targetingKey).toEqual({
        value: remote.body.flags[0].value, variant: remote.body.flags[0].variant, reason: remote.body.flags[0].reason,
      });
    }
    expect(client.string(key, 'default', { targetingKey: 'vip-1' })).toBe('treatment');
    expect(client.boolean(key, true, { targetingKey: 'vip-1' })).toBe(true); // a string flag read as boolean: the default
    expect(client.details(key, true, { targetingKey: 'vip-1' })).toMatchObject({ reason: 'ERROR', errorCode: 'TYPE_MISMATCH', value: true });
    expect(client.details('no-such-flag', 7)).toMatchObject({ value: 7, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
  });

  it('receives a kill over SSE and serves the off value', async () => {
    const key = uniqueKey('sdk-kill');
    await createFlag(stack, key, onForEveryone);
    const client = localClient({ pollIntervalMs: 600_000 }); // no polling: the stream alone must carry the kill
    await client.ready();
    await eventually(async () => client.boolean(key, false, { targetingKey: 'u1' }), 'the flag on');
    await eventually(async () => client.status().streamConnected, 'the stream');
    const changes: string[][] = [];
    client.onChange((keys) => changes.push(keys));

    const killed = await kill(key);
    expect(killed.status).toBe(201);
    await eventually(async () => client.boolean(key, true, { targetingKey: 'u1' }) === false, 'the kill to reach the client');
    expect(client.details(key, true, { targetingKey: 'u1' })).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED', metadata: { killSwitch: true } });
    expect(changes.flat()).toContain(key);
    await eventually(async () => (client.details(key, true).version ?? 0) >= killed.body.version, 'the kill version');
  });

  it('reconnects with Last-Event-ID = the last id it saw, and the stream replays what it missed (a kill, a kill and restore, an archive)', async () => {
    const [killed, bounced, archived] = [uniqueKey('sdk-resume-kill'), uniqueKey('sdk-resume-bounce'), uniqueKey('sdk-resume-archive')];
    for (const key of [killed, bounced, archived]) await createFlag(stack, key, onForEveryone);
    // A fetch that lets the test cut the stream, hold the reconnect, refuse /definitions (so nothing
    // can be caught up by a refetch) and read every stream connection's bytes as the SDK does.
    const connections: Array<{ lastEventId: string | null; text: string; abort: AbortController }> = [];
    let definitionsRefused = false;
    let releaseReconnect: () => void = () => undefined;
    const reconnectHeld = new Promise<void>((resolve) => (releaseReconnect = resolve));
    const instrumented: typeof fetch = async (input, init) => {
      const url = String(input);
      if (url.endsWith('/api/v1/definitions') && definitionsRefused) return new Response(null, { status: 503 });
      if (!url.endsWith('/api/v1/stream')) return fetch(input, init);
      if (connections.length > 0) await reconnectHeld;
      const connection = { lastEventId: new Headers(init?.headers).get('last-event-id'), text: '', abort: new AbortController() };
      connections.push(connection);
      init?.signal?.addEventListener('abort', () => connection.abort.abort());
      const response = await fetch(input, { ...init, signal: connection.abort.signal });
      const [forSdk, forTest] = response.body!.tee();
      void (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of forTest) connection.text += decoder.decode(chunk as Uint8Array, { stream: true });
      })().catch(() => undefined);
      return new Response(forSdk, { status: response.status, headers: response.headers });
    };
    const events = (text: string) => text.split('\n\n').filter((block) => /^event: /m.test(block)).map((block) => ({
      id: /^id: (.*)$/m.exec(block)?.[1], event: /^event: (.*)$/m.exec(block)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null'),
    }));

    const client = localClient({ fetch: instrumented, pollIntervalMs: 600_000 });
    await client.ready();
    await eventually(async () => client.status().streamConnected && [killed, bounced, archived].every((key) => client.boolean(key, false, { targetingKey: 'u' })), 'connected with the flags on');
    const lastSeen = events(connections[0]!.text).filter((e) => e.id !== undefined).at(-1)!.id!;

    // Disconnected (and no refetch possible): a kill, a kill then a restore, an archive.
    definitionsRefused = true;
    connections[0]!.abort.abort();
    await eventually(async () => !client.status().streamConnected, 'the SDK to notice the cut');
    expect((await kill(killed)).status).toBe(201);
    expect((await kill(bounced)).status).toBe(201);
    const restore = await stack.request('DELETE', `/api/v1/flags/${bounced}/environments/production/kill-switch`);
    expect(restore.status).toBe(200);
    const archive = await stack.request('POST', `/api/v1/flags/${archived}/archive`, { body: { reason: 'sdk resume test' } });
    expect(archive.status).toBe(200);
    // The replay comes from the API's in-process snapshot: wait until it holds all three changes.
    const held = (key: string) => stack.api.snapshot.definition('production', key);
    await eventually(async () => held(killed)?.config.kill_switch.enabled && (held(bounced)?.version ?? 0) >= restore.body.version && held(archived)?.archived,
      'the API to hold the three changes');

    releaseReconnect();
    await eventually(async () => connections.length >= 2 && client.status().streamConnected, 'the reconnect');
    expect(connections[1]!.lastEventId).toBe(lastSeen);
    // What the stream replayed, before its `ready`: each changed flag once, in its latest state, newer than lastSeen.
    const replayed = await eventually(async () => {
      const all = events(connections[1]!.text);
      const ready = all.findIndex((e) => e.event === 'ready');
      return ready < 0 ? undefined : all.slice(0, ready).filter((e) => [killed, bounced, archived].includes(e.data?.key));
    }, 'the replay');
    expect(replayed.map((e) => [e.event, e.data.key, e.data.kill_switch, e.data.archived ?? false])).toEqual([
      ['flag.killed', killed, true, false],
      ['flag.updated', bounced, false, false],
      ['flag.updated', archived, false, true],
    ]);
    for (const e of replayed) expect(Number(e.id)).toBeGreaterThan(Number(lastSeen));
    // The SDK applied the replayed kill itself: /definitions still refuses.
    await eventually(async () => client.boolean(killed, true, { targetingKey: 'u' }) === false, 'the replayed kill to reach the client');
    expect(client.details(killed, true, { targetingKey: 'u' })).toMatchObject({ value: false, reason: 'DISABLED' });

    // Once definitions are back, a refresh brings the rest (the archived flag is gone).
    definitionsRefused = false;
    await client.refresh();
    expect(client.details(archived, true, { targetingKey: 'u' })).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(client.boolean(bounced, false, { targetingKey: 'u' })).toBe(true);
  });

  it('keeps serving the last values while the API is down, and catches up when it is back', async () => {
    const logger = createLogger('silent', 'test');
    let api: ApiServer | undefined = await startApiServer({ ...stack.config, PORT: 0 }, logger);
    const port = api.port;
    closers.push(() => api?.close());
    const key = uniqueKey('sdk-outage');
    await createFlag(stack, key, onForEveryone);
    const errors: RipcordSdkError[] = [];
    const cacheFile = join(mkdtempSync(join(tmpdir(), 'ripcord-sdk-')), 'definitions.json');
    const client = localClient({ onError: (e: RipcordSdkError) => errors.push(e), pollIntervalMs: 200, cacheFile }, api.url);
    await client.ready();
    await eventually(async () => client.boolean(key, false, { targetingKey: 'u' }), 'the flag on');

    await api.close();
    api = undefined;
    await eventually(async () => errors.some((e) => e.code === 'FETCH_FAILED' || e.code === 'STREAM_FAILED'), 'the SDK noticing the outage');
    expect(client.boolean(key, false, { targetingKey: 'u' })).toBe(true);
    expect(client.details(key, false, { targetingKey: 'u' })).toMatchObject({ value: true, reason: 'SPLIT' });
    expect(client.status().streamConnected).toBe(false);

    // A process restarted during the outage starts from the cache file the first one wrote.
    const restarted = localClient({ pollIntervalMs: 200, cacheFile, onError: () => undefined }, `http://127.0.0.1:${port}`);
    await expect(restarted.ready(300)).resolves.toBe('bootstrap');
    expect(restarted.boolean(key, false, { targetingKey: 'u' })).toBe(true);

    // Changed while the API was unreachable; the client catches up once it is back on the same port.
    await putConfig(stack, key, { ...onForEveryone, value: false, off_value: true });
    api = await startApiServer({ ...stack.config, PORT: port }, logger);
    await eventually(async () => client.boolean(key, true, { targetingKey: 'u' }) === false, 'the client catching up');
    await eventually(async () => restarted.boolean(key, true, { targetingKey: 'u' }) === false && restarted.status().source === 'server', 'the restarted client catching up');
  });

  it('answers the default with a reason when it has never reached the API, and ready() rejects after its timeout', async () => {
    const client = localClient({ onError: () => undefined }, 'http://127.0.0.1:9');
    await expect(client.ready(200)).rejects.toThrow(/no flag definitions/);
    expect(client.boolean('anything', true)).toBe(true);
    expect(client.details('anything', 'x')).toMatchObject({ value: 'x', reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY' });
  });
});

describe('Express middleware', () => {
  it('puts an evaluator on req.flags in a real Express app, validates the context, and reports outcomes in batches', async () => {
    const key = uniqueKey('sdk-mw');
    await createFlag(stack, key, onForEveryone);
    const client = localClient({ eventsFlushIntervalMs: 60_000 });
    await client.ready();
    await eventually(async () => client.details(key, false, { targetingKey: 'x' }).reason === 'SPLIT', 'the flag');
    const contextErrors: string[] = [];

    const app = express();
    app.use(flags({
      client,
      context: (req) => ({ targetingKey: req.get('x-user') ?? undefined, plan: req.get('x-plan') ?? 'free', ...(req.get('x-bad') ? { targetingKey: 42 } : {}) }) as never,
      onError: (e) => contextErrors.push(e.message),
    }));
    app.get('/checkout', (req, res) => {
      res.json({ on: req.flags.boolean(key, false), details: req.flags.details(key, false), context: req.flags.context });
    });
    app.get('/fails', (req, res) => {
      req.flags.boolean(key, false);
      res.status(500).json({ error: 'boom' });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const ok = await (await fetch(`${base}/checkout`, { headers: { 'x-user': 'user-7', 'x-plan': 'pro' } })).json();
    expect(ok).toMatchObject({ on: true, details: { value: true, variant: 'on', reason: 'SPLIT' }, context: { targetingKey: 'user-7', plan: 'pro' } });
    const bad = await (await fetch(`${base}/checkout`, { headers: { 'x-bad': '1' } })).json();
    expect(bad).toMatchObject({ on: false, details: { value: false, reason: 'ERROR', errorCode: 'INVALID_CONTEXT' } });
    expect(contextErrors.join()).toMatch(/targetingKey/);

    for (let i = 0; i < 3; i++) expect((await fetch(`${base}/fails`, { headers: { 'x-user': `u-${i}` } })).status).toBe(500);
    await client.flush();
    const counts = await stack.db.query(
      `SELECT variant, sum(successes)::int AS successes, sum(errors)::int AS errors FROM flag_events WHERE flag_key = $1 AND environment = 'production' GROUP BY variant`, [key]);
    expect(counts.rows).toEqual([{ variant: 'on', successes: 1, errors: 3 }]);
  });

  it('works with a remote client too: one bulk request per HTTP request', async () => {
    const key = uniqueKey('sdk-mw-remote');
    await createFlag(stack, key, { enabled: true, value: 42, off_value: 0 }, { type: 'number' });
    const calls: string[] = [];
    const client = createClient({ url: stack.api.url, token: clientToken, mode: 'remote', fetch: (input, init) => (calls.push(String(input)), fetch(input, init)) });
    closers.push(() => client.close());
    expect(await client.number(key, 0, { targetingKey: 'a' })).toBe(42);
    const app = express();
    app.use(flags({ client, context: (req) => ({ targetingKey: req.get('x-user') }) }));
    app.get('/', (req, res) => void res.json({ n: req.flags.number(key, 0), missing: req.flags.string('no-such-flag', 'dflt') }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    calls.length = 0;
    const body = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { headers: { 'x-user': 'b' } })).json();
    expect(body).toEqual({ n: 42, missing: 'dflt' });
    expect(calls.filter((c) => c.endsWith('/api/v1/evaluate'))).toHaveLength(1);
  });
});

describe('OpenFeature provider', () => {
  it('serves through OpenFeature and announces a kill as ConfigurationChanged', async () => {
    const key = uniqueKey('sdk-of');
    await createFlag(stack, key, onForEveryone);
    const provider = new RipcordProvider({ url: stack.api.url, token: serverToken, backoff: { initialMs: 50, maxMs: 500 } });
    closers.push(() => OpenFeature.close());
    await OpenFeature.setProviderAndWait(provider);
    const openFeature = OpenFeature.getClient();
    await eventually(async () => openFeature.getBooleanValue(key, false, { targetingKey: 'of-user' }), 'the flag through OpenFeature');
    expect(await openFeature.getBooleanDetails(key, false, { targetingKey: 'of-user' })).toMatchObject({ value: true, variant: 'on', reason: 'SPLIT' });
    expect(await openFeature.getStringDetails('no-such-flag', 'd')).toMatchObject({ value: 'd', reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });

    const changed: string[] = [];
    OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, (details) => changed.push(...((details as { flagsChanged?: string[] } | undefined)?.flagsChanged ?? [])));
    await kill(key);
    await eventually(async () => (await openFeature.getBooleanValue(key, true, { targetingKey: 'of-user' })) === false, 'the kill through OpenFeature');
    await eventually(async () => changed.includes(key), 'ConfigurationChanged naming the flag');
  });
});
