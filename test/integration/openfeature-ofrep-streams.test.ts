import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/main/api-server.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, createToken, onForEveryone, openSse, type SseClient, type SseEvent } from './serving-helpers.js';

// OFREP 0.3 change streams (the protocol's ADR-0008) against the real stack.

let stack: Stack;
let clientToken: string;
/** A second API process whose log is captured, to prove the stream URL never reaches it. */
let logged: ApiServer;
const logLines: string[] = [];
const open: SseClient[] = [];

beforeAll(async () => {
  stack = await startStack({ STREAM_HEARTBEAT_SECONDS: '0.2' });
  clientToken = await createToken(stack.db, 'client');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  logged = await startApiServer({ ...stack.config, PORT: 0, LOG_LEVEL: 'trace' }, pino({ level: 'trace' }, sink));
});
afterAll(async () => {
  for (const client of open) client.close();
  await logged?.close();
  await stack?.close();
});

async function bulk(token: string | null, query = '', url = stack.api.url, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/ofrep/v1/evaluate/flags${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ context: { targetingKey: 'user-1' } }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** The stream URL a bulk answer advertises to this token, resolved against the API's origin. */
async function streamUrl(token: string, url = stack.api.url): Promise<string> {
  const answer = await bulk(token, '', url);
  expect(answer.status).toBe(200);
  const [stream] = answer.body.eventStreams;
  return `${url}${stream.endpoint.requestUri}`;
}

async function listen(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await openSse(url, headers);
  open.push(client);
  return client;
}

const refetch = (event: SseEvent) => event.data !== '' && (JSON.parse(event.data) as { type?: string }).type === 'refetchEvaluation';
const kill = (key: string) => stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'ofrep stream test' } });

describe('bulk evaluation advertises a change stream', () => {
  it('as an SSE endpoint on the provider\'s own origin, with the inactivity delay', async () => {
    const answer = await bulk(clientToken);
    expect(answer.status).toBe(200);
    expect(answer.body.eventStreams).toEqual([
      { type: 'sse', endpoint: { requestUri: expect.stringMatching(/^\/ofrep\/v1\/event-stream\?channel=[\w.-]+$/) }, inactivityDelaySec: 120 },
    ]);
    // The same token gets the same URL (a provider keeps its connection when the URL set is unchanged).
    expect((await bulk(clientToken)).body.eventStreams).toEqual(answer.body.eventStreams);
  });

  it('not to the bootstrap admin token, which has no stored token a revocation could end', async () => {
    const answer = await stack.request('POST', '/ofrep/v1/evaluate/flags', { body: { context: {} } });
    expect(answer.status).toBe(200);
    expect(answer.body.eventStreams).toBeUndefined();
  });

  it('no longer serves /ofrep/v1/configuration (removed in OFREP 0.3)', async () => {
    const response = await fetch(`${stack.api.url}/ofrep/v1/configuration`, { headers: { authorization: `Bearer ${clientToken}` } });
    expect(response.status).toBe(404);
  });
});

describe('the change stream', () => {
  it('sends refetchEvaluation with the new configuration ETag on a kill; the re-fetch with flagConfigEtag sees it', async () => {
    const key = uniqueKey('ofrep-sse');
    await createFlag(stack, key, onForEveryone);
    const client = await listen(await streamUrl(clientToken));
    await client.next((event) => event.id !== undefined);

    const killed = await kill(key);
    expect(killed.status).toBe(201);
    const event = await client.next((e) => refetch(e) && Number(e.id) >= killed.body.version);
    expect(event.event).toBe('message');
    const data = JSON.parse(event.data);
    expect(data).toEqual({ type: 'refetchEvaluation', etag: `"v${event.id}"`, lastModified: expect.any(Number) });
    expect(Math.abs(data.lastModified - Date.now() / 1000)).toBeLessThan(600);

    const query = `?flagConfigEtag=${encodeURIComponent(data.etag)}&flagConfigLastModified=${data.lastModified}`;
    const after = await bulk(clientToken, query);
    expect(after.status).toBe(200);
    expect(after.body.flags.find((flag: { key: string }) => flag.key === key)).toMatchObject({ value: false, reason: 'DISABLED' });
  });

  it('tells a client that reconnects with an older Last-Event-ID to re-fetch at once, and one that is current nothing', async () => {
    const key = uniqueKey('ofrep-resume');
    await createFlag(stack, key, onForEveryone);
    const url = await streamUrl(clientToken);
    const first = await listen(url);
    const opening = await first.next((event) => event.id !== undefined);
    first.close();
    const killed = await kill(key);
    expect(killed.status).toBe(201);

    const behind = await listen(url, { 'last-event-id': opening.id! });
    const replayed = await behind.next(refetch);
    expect(Number(replayed.id)).toBeGreaterThanOrEqual(killed.body.version);

    const current = await listen(url, { 'last-event-id': replayed.id! });
    await current.next((event) => event.id === replayed.id);
    // The first notification a current client gets is for the next change (a newer id), not a replay.
    await createFlag(stack, uniqueKey('ofrep-resume-next'), onForEveryone);
    const next = await current.next(refetch);
    expect(Number(next.id)).toBeGreaterThan(Number(replayed.id));
  });

  it('refuses a forged or malformed channel with 401, and ends a revoked token\'s stream and its URL', async () => {
    const created = await stack.request('POST', '/api/v1/tokens', { body: { name: 'ofrep stream', kind: 'client', environment: 'production' } });
    expect(created.status).toBe(201);
    const url = await streamUrl(created.body.token);
    const forged = url.slice(0, -4) + (url.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await fetch(forged)).status).toBe(401);
    expect((await fetch(`${stack.api.url}/ofrep/v1/event-stream?channel=nonsense`)).status).toBe(401);
    expect((await fetch(`${stack.api.url}/ofrep/v1/event-stream`)).status).toBe(401);

    const response = await fetch(url);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let ended = false;
    void (async () => {
      try {
        while (!(await reader.read()).done);
      } catch {
        // reset: ended all the same
      }
      ended = true;
    })();
    expect((await stack.request('DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(200);
    await eventually(async () => ended, 'the revoked token\'s stream to end');
    expect((await fetch(url)).status).toBe(401);
  });

  it('rejects bad re-fetch metadata with a 400 naming the parameter', async () => {
    const etag = await bulk(clientToken, '?flagConfigEtag=banana');
    expect(etag.status).toBe(400);
    expect(etag.body).toMatchObject({ errorCode: 'PARSE_ERROR', errorDetails: expect.stringContaining('flagConfigEtag') });
    const lastModified = await bulk(clientToken, '?flagConfigLastModified=yesterday');
    expect(lastModified.status).toBe(400);
    expect(lastModified.body.errorDetails).toContain('flagConfigLastModified');
    expect((await bulk(clientToken, '?flagConfigLastModified=2026-02-20T21:28:18Z')).status).toBe(200);
  });

  it('answers a re-fetch naming a configuration this replica does not hold yet, after a bounded wait, marked STALE', async () => {
    const answer = await bulk(clientToken, `?flagConfigEtag=${encodeURIComponent('"v999999999999"')}`);
    expect(answer.status).toBe(200);
    const served = answer.body.flags.filter((flag: { errorCode?: string }) => !flag.errorCode);
    expect(served.length).toBeGreaterThan(0);
    expect(new Set(served.map((flag: { reason: string }) => flag.reason))).toEqual(new Set(['STALE']));
  });
});

describe('the stream URL is a secret', () => {
  it('never reaches the log, whatever the request', async () => {
    const key = uniqueKey('ofrep-log');
    await createFlag(stack, key, onForEveryone);
    const url = await streamUrl(clientToken, logged.url);
    const channel = new URL(url).searchParams.get('channel')!;
    const client = await listen(url);
    await client.next((event) => event.id !== undefined);
    await kill(key);
    await client.next(refetch);
    // A refused channel (one character longer) is logged no more than an accepted one.
    expect((await fetch(`${url}x`)).status).toBe(401);
    client.close();
    expect(logLines.length).toBeGreaterThan(0);
    const log = logLines.join('');
    const mac = channel.split('.').pop()!;
    expect(log).not.toContain(mac);
    expect(log).not.toContain(clientToken);
  });
});
