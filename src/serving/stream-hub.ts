import type { FlagSnapshot } from '../cache/flag-snapshot.js';
import type { ChangeKind } from '../domain/flag-change.js';
import type { FlagDefinition } from '../domain/flag.js';
import type { ChangeEvent } from '../cache/projection.js';

/** The writable end of one Server-Sent Events connection. */
export interface StreamSink {
  write(chunk: string): boolean;
  readonly writableLength: number;
  end(): void;
}

export interface StreamHubDeps {
  snapshot: FlagSnapshot;
  /** Where changes come from: SnapshotSync's listeners. */
  onChange: Set<(change: ChangeEvent) => void>;
  heartbeatMs?: number;
  /** A client whose unsent bytes pass this is dropped; it resumes with Last-Event-ID. */
  maxBufferedBytes?: number;
  /** What the clients of this hub are sent; Ripcord's own flag events unless given (OFREP's stream has its own). */
  format?: StreamFormat;
}

/** The wire format of one kind of stream: what a client gets on connecting, on a change, and to stay alive. */
export interface StreamFormat {
  /** The first chunk: what was missed after `lastEventId`, then whatever marks the stream ready. */
  opening(snapshot: FlagSnapshot, environment: string, lastEventId: number | undefined): string;
  /** The chunk for a change; null sends nothing. */
  change(change: ChangeEvent): string | null;
  heartbeat(snapshot: FlagSnapshot, environment: string, at: string): string;
}

/**
 * The SSE payload of a change: enough for a client to know what to re-evaluate, no definitions.
 * `from_version` (the flag's version before) is there when the change only switched `enabled` or
 * the kill switch: a client holding the flag at that version and the environment at `version - 1`
 * (versions of an environment are consecutive) applies the event as the whole change, no re-fetch.
 */
export function formatChange(event: ChangeKind, definition: FlagDefinition, base?: number): string {
  const data = {
    key: definition.key,
    environment: definition.environment,
    version: definition.version,
    event,
    enabled: definition.config.enabled,
    kill_switch: definition.config.kill_switch.enabled,
    ...(definition.archived ? { archived: true } : {}),
    ...(base === undefined ? {} : { from_version: base }),
  };
  return `id: ${definition.version}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Ripcord's own stream (`/api/v1/stream`): one event per flag change, ids are flag versions. */
export const ripcordStreamFormat: StreamFormat = {
  opening(snapshot, environment, lastEventId) {
    let chunk = 'retry: 1000\n\n';
    if (lastEventId !== undefined && Number.isFinite(lastEventId)) {
      const missed = [...snapshot.definitions(environment)]
        .filter((definition) => definition.version > lastEventId)
        .sort((a, b) => a.version - b.version);
      for (const definition of missed) chunk += formatChange(definition.config.kill_switch.enabled ? 'flag.killed' : 'flag.updated', definition);
    }
    const version = snapshot.version(environment);
    return chunk + `id: ${Math.max(version, lastEventId ?? 0)}\nevent: ready\ndata: ${JSON.stringify({ environment, version })}\n\n`;
  },
  change: (change) => formatChange(change.event, change.definition, change.base),
  // An event without an id leaves the client's Last-Event-ID alone.
  heartbeat: (snapshot, environment, at) => `event: heartbeat\ndata: ${JSON.stringify({ at, version: snapshot.version(environment) })}\n\n`,
};

/**
 * Fans changes out to every SSE client of an environment. Event ids are flag versions, which grow
 * with every change of an environment, so a client that reconnects with Last-Event-ID learns what
 * changed after it from the L1 snapshot.
 */
export class StreamHub {
  private readonly clients = new Map<string, Set<StreamSink>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly listener = (change: ChangeEvent) => this.broadcast(change);
  /** Set by drain(): the reconnect delay told to clients that still arrive. */
  private drainedRetryMs: number | undefined;

  private readonly format: StreamFormat;

  constructor(private readonly deps: StreamHubDeps) {
    this.format = deps.format ?? ripcordStreamFormat;
  }

  get size(): number {
    let n = 0;
    for (const set of this.clients.values()) n += set.size;
    return n;
  }

  start(): void {
    this.deps.onChange.add(this.listener);
    this.timer = setInterval(() => this.heartbeat(), this.deps.heartbeatMs ?? 15_000);
    this.timer.unref();
  }

  stop(): void {
    this.deps.onChange.delete(this.listener);
    clearInterval(this.timer);
    for (const set of this.clients.values()) for (const sink of set) sink.end();
    this.clients.clear();
  }

  /**
   * For a stopping process: tells every client to reconnect after `retryMs` (SSE `retry:`) and
   * closes its stream; clients come back on another process with Last-Event-ID and miss nothing.
   */
  drain(retryMs: number): void {
    this.drainedRetryMs = retryMs;
    this.deps.onChange.delete(this.listener);
    clearInterval(this.timer);
    for (const set of this.clients.values()) {
      for (const sink of set) {
        sink.write(`retry: ${retryMs}\n\n`);
        sink.end();
      }
    }
    this.clients.clear();
  }

  /** Registers a client; replays what it missed when it says which event it saw last. Returns the detach function. */
  connect(environment: string, sink: StreamSink, lastEventId?: number): () => void {
    if (this.drainedRetryMs !== undefined) {
      sink.write(`retry: ${this.drainedRetryMs}\n\n`);
      sink.end();
      return () => undefined;
    }
    let set = this.clients.get(environment);
    if (!set) this.clients.set(environment, (set = new Set()));
    set.add(sink);
    sink.write(this.format.opening(this.deps.snapshot, environment, lastEventId));
    return () => {
      set.delete(sink);
      if (set.size === 0 && this.clients.get(environment) === set) this.clients.delete(environment);
    };
  }

  private broadcast(change: ChangeEvent): void {
    const set = this.clients.get(change.definition.environment);
    if (!set || set.size === 0) return;
    const chunk = this.format.change(change);
    if (chunk !== null) this.send(set, chunk);
  }

  private heartbeat(): void {
    const at = new Date().toISOString();
    for (const [environment, set] of this.clients) this.send(set, this.format.heartbeat(this.deps.snapshot, environment, at));
  }

  private send(set: Set<StreamSink>, chunk: string): void {
    const limit = this.deps.maxBufferedBytes ?? 1 << 20;
    for (const sink of set) {
      if (sink.writableLength > limit) {
        set.delete(sink);
        sink.end();
        continue;
      }
      sink.write(chunk);
    }
  }
}
