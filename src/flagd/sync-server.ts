import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Authenticator, Principal } from '../auth/principal.js';
import type { Logger } from '../logger.js';
import type { AuthFailureLimiter } from '../serving/auth-failure-limiter.js';
import type { InstanceRegistry } from '../serving/instance-registry.js';
import { STREAM_RETRY_AFTER_SECONDS, type StreamRegistry } from '../serving/stream-registry.js';
import { environmentOfSelector, flagdEnvironmentFor } from './flagd-access.js';
import { peerAddressOf } from './peer-address.js';
import type { FlagdFeed } from './flagd-feed.js';

/** flagd's sync API (vendored from flagd-schemas, Apache-2.0), beside this module in src/ and dist/. */
const PROTO_FILE = fileURLToPath(new URL('./proto/flagd/sync/v1/sync.proto', import.meta.url));

export interface FlagdSyncServerDeps {
  feed: FlagdFeed;
  authenticator: Authenticator;
  /** The open SyncFlags streams: capped per token and per address, closed when their credentials change. */
  streams: StreamRegistry;
  /** Loads an environment this process has not served yet (false when it does not exist). */
  ensureEnvironment: (environment: string) => Promise<boolean>;
  /** The HTTP API's failed-authentication limit per address: one budget, whichever protocol guesses tokens. */
  authFailures?: AuthFailureLimiter;
  /**
   * Counts each SyncFlags stream as an SDK instance holding the version last written to it: flagd's
   * protocol has no acknowledgement, so a write is "delivered", never "confirmed".
   */
  instances?: Pick<InstanceRegistry, 'report' | 'raise' | 'remove'>;
  logger: Logger;
}

export interface FlagdSyncServer {
  port: number;
  close(): Promise<void>;
}

interface SyncRequest {
  provider_id?: string;
  selector?: string;
}

class CallError extends Error {
  constructor(readonly code: grpc.status, message: string, readonly metadata = new grpc.Metadata()) {
    super(message);
  }
}

function bearerOf(metadata: grpc.Metadata): string | undefined {
  const header = metadata.get('authorization')[0];
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

/**
 * The caller's token: `authorization: Bearer` metadata, else the request's `provider_id`, which the
 * proto reserves for servers to authenticate callers by and which is all flagd's own gRPC source can
 * send (its `providerID` setting): a secret there, so flagd should reach Ripcord over TLS.
 */
function tokenOf(metadata: grpc.Metadata, request?: SyncRequest): string | undefined {
  return bearerOf(metadata) ?? (request?.provider_id ? request.provider_id : undefined);
}

/** The key a caller's streams are counted under: its token, or the user for admin tokens (as for SSE). */
function streamKeyOf(principal: Principal): string {
  return principal.kind === 'user' ? `user:${principal.actor.id}` : principal.tokenId;
}

function loadService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(PROTO_FILE, { keepCase: true, defaults: true, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { flagd: { sync: { v1: { FlagSyncService: { service: grpc.ServiceDefinition } } } } };
  return loaded.flagd.sync.v1.FlagSyncService.service;
}

/**
 * `flagd.sync.v1.FlagSyncService` over gRPC: flagd (as an edge tier) and flagd's in-process providers
 * sync an environment's flags from Ripcord. Every call needs a server token, as `authorization: Bearer`
 * metadata or as the request's `provider_id` (a user token with flag:read also works, for one
 * environment named by the selector). The selector
 * (the `flagd-selector` header, or the request's deprecated field) may name the environment:
 * `production` or `environment=production`. SyncFlags sends the document at once and then a new one
 * on every change this process's snapshot takes in (pushed, not polled). A token (or an address) holds
 * at most FLAGD_SYNC_MAX_STREAMS_PER_TOKEN (_PER_ADDRESS) streams: the next gets RESOURCE_EXHAUSTED. A
 * stream ends with UNAUTHENTICATED as soon as its token is revoked or its user changes.
 */
export async function startFlagdSyncServer(host: string, port: number, deps: FlagdSyncServerDeps): Promise<FlagdSyncServer> {
  const { feed, authenticator, streams, ensureEnvironment, authFailures, instances, logger } = deps;

  /** The caller, refused like HTTP's (429 there) when its address failed authentication too often. */
  async function principalOf(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, request?: SyncRequest): Promise<Principal> {
    const address = peerAddressOf(call.getPeer());
    const token = tokenOf(call.metadata, request);
    const wait = authFailures?.retryAfterFor(address, token ?? null, authenticator) ?? 0;
    if (wait > 0) {
      const trailer = new grpc.Metadata();
      trailer.set('retry-after', String(wait));
      throw new CallError(grpc.status.RESOURCE_EXHAUSTED, `Too many failed authentications from this address; retry after ${wait} s`, trailer);
    }
    const principal = token ? await authenticator.authenticate(token) : null;
    if (!principal) {
      authFailures?.fail(address);
      throw new CallError(grpc.status.UNAUTHENTICATED, 'send a Ripcord server token as `authorization: Bearer <token>` metadata or as provider_id');
    }
    return principal;
  }

  /** Authenticates a call and resolves the environment it may read. */
  async function environmentOf(call: grpc.ServerUnaryCall<SyncRequest, unknown> | grpc.ServerWritableStream<SyncRequest, unknown>): Promise<{ environment: string; token: string; principal: Principal }> {
    const { metadata, request } = call;
    const principal = await principalOf(call, request);
    const header = metadata.get('flagd-selector')[0];
    const selector = environmentOfSelector(typeof header === 'string' && header !== '' ? header : request.selector);
    if ('error' in selector) throw new CallError(grpc.status.INVALID_ARGUMENT, selector.error);
    const access = flagdEnvironmentFor(principal, selector.environment);
    if ('denied' in access) throw new CallError(grpc.status.PERMISSION_DENIED, access.denied);
    if (!(await ensureEnvironment(access.environment))) throw new CallError(grpc.status.NOT_FOUND, `environment '${access.environment}' is unknown`);
    return { environment: access.environment, token: tokenOf(metadata, request)!, principal };
  }

  function fail(error: unknown): grpc.ServiceError {
    if (error instanceof CallError) return Object.assign(new Error(error.message), { code: error.code, details: error.message, metadata: error.metadata });
    logger.error({ err: error }, 'flagd sync call failed');
    return Object.assign(new Error('internal error'), { code: grpc.status.INTERNAL, details: 'internal error', metadata: new grpc.Metadata() });
  }

  const handlers: grpc.UntypedServiceImplementation = {
    syncFlags(call: grpc.ServerWritableStream<SyncRequest, unknown>) {
      let unsubscribe: (() => void) | undefined;
      let untrack: (() => void) | undefined;
      let uncount: (() => void) | undefined;
      let ended = false;
      const end = () => {
        ended = true;
        unsubscribe?.();
        untrack?.();
        uncount?.();
      };
      call.on('cancelled', end);
      call.on('close', end);
      call.on('finish', end);
      call.on('error', end);
      environmentOf(call).then(({ environment, token, principal }) => {
        if (call.cancelled || ended) return;
        const key = streamKeyOf(principal);
        const address = peerAddressOf(call.getPeer());
        const refusal = streams.refusal(key, address);
        if (refusal) throw new CallError(grpc.status.RESOURCE_EXHAUSTED, `${refusal}: close one, or retry in ${STREAM_RETRY_AFTER_SECONDS} s`);
        untrack = streams.add(key, address, principal, () => {
          end();
          call.emit('error', fail(new CallError(grpc.status.UNAUTHENTICATED, 'the token was revoked or its user changed; reconnect with valid credentials')));
        });
        const first = feed.render(environment)!;
        call.write({ flag_configuration: first.body });
        // No app, host or provider_id is kept: provider_id may be the token itself.
        const instanceId = randomUUID();
        const counted = instances?.report(
          { id: instanceId, kind: 'flagd-sync', environment, app: null, app_version: null, host: null, sdk_version: null, version: first.version },
          { key, address }, { bound: true },
        );
        if (counted) uncount = () => instances!.remove(instanceId, environment);
        unsubscribe = feed.subscribe(environment, (document) => {
          // A revoked token's stream ends at the next change (authentication is cached until revoked).
          void authenticator.authenticate(token).then((principal) => {
            if (call.cancelled) return;
            if (!principal) {
              end();
              call.emit('error', fail(new CallError(grpc.status.UNAUTHENTICATED, 'the token was revoked')));
              return;
            }
            call.write({ flag_configuration: document.body });
            instances?.raise(instanceId, environment, document.version);
          });
        });
      }).catch((error: unknown) => call.emit('error', fail(error)));
    },
    fetchAllFlags(call: grpc.ServerUnaryCall<SyncRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      environmentOf(call).then(
        ({ environment }) => callback(null, { flag_configuration: feed.render(environment)!.body }),
        (error: unknown) => callback(fail(error)),
      );
    },
    getMetadata(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
      // Deprecated by flagd; providers that still call it add what it returns to every evaluation
      // context, so it returns nothing (after authenticating like the rest).
      principalOf(call).then(() => callback(null, { metadata: { fields: {} } }), (error: unknown) => callback(fail(error)));
    },
  };

  const server = new grpc.Server();
  server.addService(loadService(), handlers);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, actual) => (error ? reject(error) : resolve(actual)));
  });
  logger.info({ port: bound }, 'flagd sync (gRPC) listening');
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => {
      // Sync streams never end by themselves: in-flight calls get a moment, then the streams are cut
      // (their clients reconnect, to another replica behind a load balancer).
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 1_000);
      timer.unref();
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    }),
  };
}
