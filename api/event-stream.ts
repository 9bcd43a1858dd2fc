import type { Request, Response } from 'express';
import type { Principal } from '../src/auth/principal.js';
import type { Metrics } from '../src/metrics.js';
import type { StreamHub } from '../src/serving/stream-hub.js';
import { responseSink } from '../src/serving/sse-sink.js';
import { STREAM_RETRY_AFTER_SECONDS, type StreamRegistry } from '../src/serving/stream-registry.js';

export interface EventStreamDeps {
  hub: StreamHub;
  streams: StreamRegistry;
  metrics: Metrics;
  /** Counts each stream as an SDK instance while it is open (OFREP's); returns what ends the count. */
  countInstance?: (environment: string, owner: { key: string; address: string }, lastEventId: number | undefined) => () => void;
}

/**
 * Opens a Server-Sent Events stream on `res` for the given environments, unless the token or the
 * address already holds as many streams as allowed (429 with Retry-After). The stream counts toward
 * those caps and is closed when its token is revoked or its user changes.
 */
export function openEventStream(
  deps: EventStreamDeps,
  req: Request,
  res: Response,
  environments: readonly string[],
  lastEventId: number | undefined,
  who: { key: string; principal: Principal | null },
): void {
  const address = req.ip ?? '';
  const refusal = deps.streams.refusal(who.key, address);
  if (refusal) {
    res.status(429).set('retry-after', String(STREAM_RETRY_AFTER_SECONDS)).json({ error: { code: 'RATE_LIMITED', message: refusal } });
    return;
  }
  const untrack = deps.streams.add(who.key, address, who.principal, () => res.destroy());
  res.on('close', untrack);
  req.socket.setTimeout(0);
  req.socket.setNoDelay(true);
  res.status(200).set({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  const sink = responseSink(res);
  const detach = environments.map((environment) => deps.hub.connect(environment, sink, lastEventId));
  if (deps.countInstance) for (const environment of environments) detach.push(deps.countInstance(environment, { key: who.key, address }, lastEventId));
  deps.metrics.streamClients.inc();
  res.on('close', () => {
    for (const d of detach) d();
    deps.metrics.streamClients.dec();
  });
}

/** The Last-Event-ID a reconnecting client sent (header, else `?lastEventId=`); undefined when none or not a number. */
export function lastEventIdOf(req: Request): number | undefined {
  const value = req.get('last-event-id') ?? (typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined);
  if (value === undefined || value === '') return undefined;
  const id = Number(value);
  return Number.isFinite(id) ? id : undefined;
}
