import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAGD_SCHEMA, inexpressibleReason, toFlagdFlag } from '../../src/flagd/flagd-document.js';
import { agrees, allVectorCases, compareSplit, compareVectors, createVectorFlags, FlagdClientProcess, killReachesProvider, segmentsOf, waitForSync, type Answer, type VectorCase } from './flagd/flagd-clients.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';

/**
 * flagd-compatible sync against OpenFeature's flagd provider for Python
 * (openfeature-provider-flagd 0.5.2, pinned in test/integration/flagd/requirements.txt, installed by
 * ensure_flagd_python), run as a child process (test/integration/flagd/flagd_client.py):
 * 1. flagd's own evaluator on the converted vector flags, at each vector's clock, gives the engine's answer;
 * 2. in in-process mode, synced over gRPC from Ripcord's FlagSyncService, it gives Ripcord's own OFREP
 *    answer for every expressible vector case and for 1,000 users of a 3-variant split;
 * 3. it serves a kill pushed over the sync stream (the time is printed, not asserted).
 * Also here: the sync service's authentication, stream caps and the HTTP document.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const PYTHON = `${root}/.tools/venv-flagd/bin/python`;
const ENVIRONMENT = 'staging';
/** FLAGD_SYNC_MAX_STREAMS_PER_TOKEN in this file's API (the Python provider's token holds one). */
const STREAMS_PER_TOKEN = 3;

let stack: Stack;
let python: FlagdClientProcess;
let serverToken: string;

beforeAll(async () => {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: npm test installs it (ensure_flagd_python in scripts/stack-lib.sh)`);
  // On a loaded machine a replica that misses its 1 s reconciliation for 3 s answers STALE (same value,
  // other reason); this test compares answers, not freshness, so it allows a minute.
  stack = await startStack({ FLAGD_SYNC_PORT: '0', MAX_SNAPSHOT_LAG_SECONDS: '60', FLAGD_SYNC_MAX_STREAMS_PER_TOKEN: String(STREAMS_PER_TOKEN) }, { worker: false });
  python = new FlagdClientProcess(PYTHON, [`${root}/test/integration/flagd/flagd_client.py`]);
  const token = await stack.request('POST', '/api/v1/tokens', { body: { name: 'flagd sync', kind: 'server', environment: ENVIRONMENT } });
  expect(token.status).toBe(201);
  serverToken = token.body.token;
}, 120_000);

afterAll(async () => {
  python?.close();
  await stack?.close();
});

describe('flagd evaluator on the converted engine vectors', () => {
  it('gives the engine answer for every vector case flagd can express, at the vector clock', async () => {
    const expressible = allVectorCases.filter(({ file, def }) => inexpressibleReason(def, segmentsOf(file)) === undefined);
    const cases = expressible.map(({ file, c, def }) => ({
      key: def.key, type: def.type, context: c.context, now: Date.parse(c.now) / 1000,
      document: { $schema: FLAGD_SCHEMA, flags: { [def.key]: toFlagdFlag(def, segmentsOf(file)) } },
    }));
    const { answers } = await python.call<{ answers: Answer[] }>({ op: 'offline', cases });
    const disagreements = expressible.flatMap(({ fileName, c }, i) => (agrees(c.expected as Answer, answers[i]!) ? [] : [`${fileName}: ${c.name}: engine ${JSON.stringify(c.expected)}, flagd ${JSON.stringify(answers[i])}`]));
    console.log(`[flagd-sync] flagd evaluator vs engine vectors: ${expressible.length - disagreements.length} agreed / ${expressible.length} expressible / ${allVectorCases.length} total`);
    expect(disagreements).toEqual([]);
    expect(expressible.length).toBe(187);
  }, 120_000);
});

describe('flagd in-process provider synced from Ripcord', () => {
  let liveKeys: Map<VectorCase, { key: string; type: string }>;
  const prefix = uniqueKey('fd');

  beforeAll(async () => {
    const created = await createVectorFlags(stack, ENVIRONMENT, prefix);
    liveKeys = created.liveKeys;
    console.log(`[flagd-sync] vector flags the API refuses to store: ${created.refused.join('; ') || 'none'}`);
    const connected = await python.call<{ connected: boolean }>({ op: 'connect', host: '127.0.0.1', port: stack.api.flagdSyncPort, token: serverToken }, 30_000);
    expect(connected.connected).toBe(true);
  }, 180_000);

  it("agrees with Ripcord's OFREP answers on every vector case whose flag Ripcord stores and flagd can express", async () => {
    await waitForSync(stack, ENVIRONMENT, python);
    const disagreements = await compareVectors(stack, serverToken, python, liveKeys);
    console.log(`[flagd-sync] flagd in-process (gRPC sync) vs Ripcord OFREP: ${liveKeys.size - disagreements.length} agreed / ${liveKeys.size} live vector cases (${allVectorCases.length} vector cases in all)`);
    expect(disagreements).toEqual([]);
    // Every expressible case but errors.json's (the API refuses to store a broken config).
    expect(liveKeys.size).toBe(186);
  }, 120_000);

  it("agrees with Ripcord's OFREP answers for 1,000 users of a 3-variant split", async () => {
    const { disagreements, counts } = await compareSplit(stack, ENVIRONMENT, serverToken, python, `${prefix}-split`);
    console.log(`[flagd-sync] 3-variant split: ${1000 - disagreements.length} / 1000 users agreed (Ripcord served ${JSON.stringify(counts)})`);
    expect(disagreements.slice(0, 5)).toEqual([]);
    expect(Object.keys(counts).sort()).toEqual(['compact', 'control', 'wide']);
  }, 120_000);

  it('serves a kill pushed over the sync stream (time printed, not asserted)', async () => {
    const ms = await killReachesProvider(stack, ENVIRONMENT, python, `${prefix}-kill`);
    console.log(`[flagd-sync] kill request → served by the flagd in-process provider: ${ms} ms`);
  }, 60_000);
});

describe('the sync service and the HTTP document', () => {
  const PROTO = `${root}/src/flagd/proto/flagd/sync/v1/sync.proto`;
  type SyncClient = grpc.Client & {
    syncFlags(request: object, metadata: grpc.Metadata): grpc.ClientReadableStream<{ flag_configuration: string }>;
    fetchAllFlags(request: object, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response?: { flag_configuration: string }) => void): void;
  };
  let client: SyncClient;

  beforeAll(() => {
    const loaded = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true })) as unknown as { flagd: { sync: { v1: { FlagSyncService: new (address: string, credentials: grpc.ChannelCredentials) => SyncClient } } } };
    client = new loaded.flagd.sync.v1.FlagSyncService(`127.0.0.1:${stack.api.flagdSyncPort}`, grpc.credentials.createInsecure());
  });
  afterAll(() => client?.close());

  const bearer = (token?: string, selector?: string) => {
    const metadata = new grpc.Metadata();
    if (token) metadata.set('authorization', `Bearer ${token}`);
    if (selector) metadata.set('flagd-selector', selector);
    return metadata;
  };
  const fetchAll = (metadata: grpc.Metadata) => new Promise<{ code: grpc.status; document?: { flags: Record<string, unknown> } }>((resolve) => {
    client.fetchAllFlags({}, metadata, (error, response) => resolve(error ? { code: error.code } : { code: grpc.status.OK, document: JSON.parse(response!.flag_configuration) }));
  });

  it('refuses calls without a token, with a client token, and for another environment', async () => {
    const clientToken = (await stack.request('POST', '/api/v1/tokens', { body: { name: 'browser', kind: 'client', environment: ENVIRONMENT } })).body.token;
    expect((await fetchAll(bearer())).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await fetchAll(bearer('rc_server_not-a-real-token'))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await fetchAll(bearer(clientToken))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await fetchAll(bearer(serverToken, 'production'))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await fetchAll(bearer(serverToken, 'no such selector!'))).code).toBe(grpc.status.INVALID_ARGUMENT);
    const ok = await fetchAll(bearer(serverToken, `environment=${ENVIRONMENT}`));
    expect(ok.code).toBe(grpc.status.OK);
  });

  it("takes the token as provider_id, which is all flagd's own gRPC source can send", async () => {
    const viaProviderId = await new Promise<grpc.status>((resolve) => {
      client.fetchAllFlags({ provider_id: serverToken }, new grpc.Metadata(), (error) => resolve(error ? error.code : grpc.status.OK));
    });
    expect(viaProviderId).toBe(grpc.status.OK);
  });

  it('pushes a new document on the stream when a flag changes', async () => {
    const key = uniqueKey('fd-push');
    const stream = client.syncFlags({}, bearer(serverToken));
    const documents: Array<{ flags: Record<string, { defaultVariant: string }> }> = [];
    stream.on('data', (message: { flag_configuration: string }) => documents.push(JSON.parse(message.flag_configuration)));
    stream.on('error', () => undefined);
    try {
      await eventually(async () => documents.length >= 1, 'the first document');
      expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
      expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/${ENVIRONMENT}`, { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
      await eventually(async () => documents.at(-1)?.flags[key]?.defaultVariant === 'on', 'a document with the flag on');
    } finally {
      stream.cancel();
    }
  });

  describe('stream caps (FLAGD_SYNC_MAX_STREAMS_PER_TOKEN)', () => {
    /** A SyncFlags stream that records its documents and how it ended. */
    function open(token: string) {
      const call = client.syncFlags({}, bearer(token));
      const state = { documents: 0, error: undefined as grpc.ServiceError | undefined, call };
      call.on('data', () => {
        state.documents += 1;
      });
      call.on('error', (error: grpc.ServiceError) => {
        state.error = error;
      });
      return state;
    }
    const opened: Array<ReturnType<typeof open>> = [];
    const openAndSync = async (token: string) => {
      const stream = open(token);
      opened.push(stream);
      await eventually(async () => stream.documents > 0 || stream.error, 'the first document or an error');
      return stream;
    };
    afterAll(() => {
      for (const stream of opened) stream.call.cancel();
    });

    it('refuses the N+1th concurrent stream of a token with RESOURCE_EXHAUSTED, frees the slot when one closes, and closes them all at revocation', async () => {
      const created = await stack.request('POST', '/api/v1/tokens', { body: { name: 'capped flagd fleet', kind: 'server', environment: ENVIRONMENT } });
      expect(created.status).toBe(201);
      const token: string = created.body.token;
      const held: Array<ReturnType<typeof open>> = [];
      for (let i = 0; i < STREAMS_PER_TOKEN; i++) held.push(await openAndSync(token));
      expect(held.map((s) => s.error?.code)).toEqual(held.map(() => undefined));

      const refused = await openAndSync(token);
      expect(refused.documents).toBe(0);
      expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(refused.error?.details).toContain(`This token already holds ${STREAMS_PER_TOKEN} open streams (FLAGD_SYNC_MAX_STREAMS_PER_TOKEN)`);
      // The cap is per token: another token of the same environment still syncs.
      const other = await openAndSync(serverToken);
      expect(other.error).toBeUndefined();
      other.call.cancel();

      // A closed stream frees its slot (the server learns of the cancel asynchronously: bounded retries).
      held.shift()!.call.cancel();
      const replacement = await eventually(async () => {
        const attempt = await openAndSync(token);
        return attempt.error ? undefined : attempt;
      }, 'a stream in the freed slot');
      held.push(replacement);

      // Revoking the token ends its streams at once, without waiting for a flag change.
      expect((await stack.request('DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(200);
      await eventually(async () => held.every((s) => s.error?.code === grpc.status.UNAUTHENTICATED), 'every stream of the revoked token to end');
    });
  });

  it('serves the document over HTTP with an ETag, to server tokens of the environment', async () => {
    const first = await stack.request('GET', `/api/v1/flagd/${ENVIRONMENT}/flags.json`, { token: serverToken });
    expect(first.status).toBe(200);
    expect(first.body.$schema).toBe(FLAGD_SCHEMA);
    expect(first.body.metadata.flagSetId).toBe(ENVIRONMENT);
    const etag = first.headers.get('etag')!;
    expect((await stack.request('GET', `/api/v1/flagd/${ENVIRONMENT}/flags.json`, { token: serverToken, headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await stack.request('GET', '/api/v1/flagd/production/flags.json', { token: serverToken })).status).toBe(403);
    expect((await stack.request('GET', `/api/v1/flagd/${ENVIRONMENT}/flags.json`, { token: null })).status).toBe(401);
  });
});
