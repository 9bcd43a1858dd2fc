import type { FlagSnapshot } from '../cache/flag-snapshot.js';
import type { Segment } from '../domain/segment.js';
import { etagOf } from '../serving/etag.js';
import { toFlagdDocument, type LeftOut } from './flagd-document.js';

/** An environment's flagd document as served: rendered once per environment version and segment set. */
export interface RenderedDocument {
  environment: string;
  version: number;
  body: string;
  etag: string;
  leftOut: readonly LeftOut[];
}

type Listener = (document: RenderedDocument) => void;

/**
 * The flagd documents of every environment, from the in-process snapshot, with change notification
 * for the gRPC sync streams. It is told of changes by the snapshot's change feed (Redis pub/sub →
 * SnapshotSync.onChange) and of segment changes by the segment sync; each listener gets the new
 * document once per turn of the event loop however many flags changed, and never the same one twice.
 */
export class FlagdFeed {
  private readonly cache = new Map<string, RenderedDocument & { segments: ReadonlyMap<string, Segment> }>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly pending = new Set<string>();
  private scheduled = false;

  constructor(private readonly snapshot: FlagSnapshot) {}

  /** The environment's document, or undefined when this process knows no such environment. */
  render(environment: string): RenderedDocument | undefined {
    if (!this.snapshot.hasEnvironment(environment)) return undefined;
    const version = this.snapshot.version(environment);
    const segments = this.snapshot.currentSegments();
    const cached = this.cache.get(environment);
    if (cached && cached.version === version && cached.segments === segments) return cached;
    const { document, leftOut } = toFlagdDocument(environment, version, this.snapshot.definitions(environment), segments);
    const body = JSON.stringify(document);
    const rendered = { environment, version, body, etag: etagOf(body), leftOut, segments };
    this.cache.set(environment, rendered);
    return rendered;
  }

  /** Calls `listener` with each new document of the environment; returns the unsubscribe function. */
  subscribe(environment: string, listener: Listener): () => void {
    let set = this.listeners.get(environment);
    if (!set) this.listeners.set(environment, (set = new Set()));
    let lastEtag = this.render(environment)?.etag;
    const deliver: Listener = (document) => {
      if (document.etag === lastEtag) return;
      lastEtag = document.etag;
      listener(document);
    };
    set.add(deliver);
    return () => {
      set.delete(deliver);
      if (set.size === 0) this.listeners.delete(environment);
    };
  }

  /** A flag of the environment changed (or, without an environment, the segments did). */
  changed(environment?: string): void {
    for (const env of environment === undefined ? this.listeners.keys() : [environment]) {
      if (this.listeners.has(env)) this.pending.add(env);
    }
    if (this.pending.size === 0 || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const environments = [...this.pending];
      this.pending.clear();
      for (const env of environments) {
        const document = this.render(env);
        if (!document) continue;
        for (const deliver of this.listeners.get(env) ?? []) deliver(document);
      }
    });
  }

  /** Streams open per environment (for tests and metrics). */
  subscribers(environment: string): number {
    return this.listeners.get(environment)?.size ?? 0;
  }
}
