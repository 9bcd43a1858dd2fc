import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironmentToken } from '../governance-helpers.js';
import { eventually, startStack, type Stack } from '../harness.js';

/**
 * The flagd sync service's limits per client address, over real gRPC connections:
 * - FLAGD_SYNC_MAX_STREAMS_PER_ADDRESS counts the streams of every connection from one host (grpc-js
 *   reports a peer as `127.0.0.1:PORT`: the port must not be part of the key);
 * - failed authentications count against the same per-address budget as HTTP's
 *   (AUTH_FAILURES_PER_MINUTE), whichever protocol guesses tokens.
 */

const root = fileURLToPath(new URL('../../..', import.meta.url));
const PROTO = `${root}/src/flagd/proto/flagd/sync/v1/sync.proto`;
const ENVIRONMENT = 'staging';

type SyncClient = grpc.Client & {
  syncFlags(request: object, metadata: grpc.Metadata): grpc.ClientReadableStream<{ flag_configuration: string }>;
  fetchAllFlags(request: object, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response?: { flag_configuration: string }) => void): void;
};
const { FlagSyncService } = (grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true })) as unknown as {
  flagd: { sync: { v1: { FlagSyncService: new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => SyncClient } } };
}).flagd.sync.v1;

const clients: SyncClient[] = [];
/** A client on a connection of its own (grpc-js shares one per target unless told not to). */
function connect(stack: Stack): SyncClient {
  const client = new FlagSyncService(`127.0.0.1:${stack.api.flagdSyncPort}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(client);
  return client;
}
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

const bearer = (token: string) => {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
};

/** Opens a SyncFlags stream and waits for its first document or its error. */
async function openStream(client: SyncClient, token: string) {
  const call = client.syncFlags({}, bearer(token));
  const state = { documents: 0, error: undefined as grpc.ServiceError | undefined, call };
  call.on('data', () => (state.documents += 1));
  call.on('error', (error: grpc.ServiceError) => (state.error = error));
  await eventually(async () => state.documents > 0 || state.error, 'the first document or an error');
  return state;
}

const fetchAll = (client: SyncClient, token: string) =>
  new Promise<grpc.ServiceError | null>((resolve) => client.fetchAllFlags({}, bearer(token), (error) => resolve(error)));

describe('FLAGD_SYNC_MAX_STREAMS_PER_ADDRESS across connections', () => {
  const PER_ADDRESS = 3;
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ FLAGD_SYNC_PORT: '0', FLAGD_SYNC_MAX_STREAMS_PER_ADDRESS: String(PER_ADDRESS) }, { worker: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it(`refuses the ${PER_ADDRESS + 1}th stream from one host although each came on its own connection (own port), and frees a slot when one closes`, async () => {
    // Separate tokens, so that only the per-address cap can refuse.
    const tokens = await Promise.all(Array.from({ length: PER_ADDRESS + 1 }, () => createEnvironmentToken(stack, 'server', ENVIRONMENT)));
    const held = [];
    for (let i = 0; i < PER_ADDRESS; i++) held.push(await openStream(connect(stack), tokens[i]!.token));
    expect(held.map((s) => s.error?.code)).toEqual(held.map(() => undefined));

    const refused = await openStream(connect(stack), tokens[PER_ADDRESS]!.token);
    expect(refused.documents).toBe(0);
    expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.error?.details).toContain('FLAGD_SYNC_MAX_STREAMS_PER_ADDRESS');

    held.shift()!.call.cancel();
    const replacement = await eventually(async () => {
      const attempt = await openStream(connect(stack), tokens[PER_ADDRESS]!.token);
      return attempt.error ? undefined : attempt;
    }, 'a stream in the freed slot');
    for (const stream of [...held, replacement]) stream.call.cancel();
  });
});

describe('failed authentications over gRPC', () => {
  const FAILURES = 5;
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ FLAGD_SYNC_PORT: '0', AUTH_FAILURES_PER_MINUTE: String(FAILURES) }, { worker: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('share the per-address budget with HTTP: after it is spent, bogus tokens get RESOURCE_EXHAUSTED with retry-after on every method, and HTTP 429', async () => {
    const bogus = (i: number) => `rc_server_bogus${i}${'q'.repeat(32)}`;
    // Three failures over HTTP, two over gRPC (each on a fresh connection): five in all.
    for (let i = 0; i < 3; i++) expect((await stack.request('GET', '/api/v1/flags', { token: bogus(i) })).status).toBe(401);
    for (let i = 3; i < FAILURES; i++) expect((await fetchAll(connect(stack), bogus(i)))?.code).toBe(grpc.status.UNAUTHENTICATED);

    const refused = await fetchAll(connect(stack), bogus(100));
    expect(refused?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused?.details).toMatch(/Too many failed authentications from this address; retry after \d+ s/);
    const retryAfter = Number(refused?.metadata.get('retry-after')[0]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);

    const stream = await openStream(connect(stack), bogus(101));
    expect(stream.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((await stack.request('GET', '/api/v1/flags', { token: bogus(102) })).status).toBe(429);
  });

  it('stops a flood of 1,000 bogus tokens on FetchAllFlags after the budget', async () => {
    const client = connect(stack);
    const codes = new Map<grpc.status, number>();
    for (let i = 0; i < 1_000; i++) {
      const code = (await fetchAll(client, `rc_server_flood${i}${'z'.repeat(32)}`))?.code ?? grpc.status.OK;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(codes.get(grpc.status.UNAUTHENTICATED) ?? 0).toBeLessThanOrEqual(FAILURES);
    expect(codes.get(grpc.status.RESOURCE_EXHAUSTED)).toBeGreaterThanOrEqual(1_000 - FAILURES);
  });
});
