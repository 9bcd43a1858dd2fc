import type { Redis } from 'ioredis';
import type { Segment } from '../domain/segment.js';
import type { Logger } from '../logger.js';
import type { SegmentChange, SegmentProjection } from './segment-projection.js';

/** Where segments are installed: the L1 snapshot, which recompiles the flags that use them. */
export interface SegmentSink {
  setSegments(segments: ReadonlyMap<string, Segment>): void;
}

export interface SegmentSyncDeps {
  projection: SegmentProjection;
  /** The subscriber connection the flag sync uses too: one connection keeps segment and flag messages in order. */
  subscriber: Redis;
  sink: SegmentSink;
  /** Postgres' segment revision, to notice a projection that lost writes (or Redis restarted empty). */
  loadRevision: () => Promise<number>;
  /** Every segment from Postgres with its version, to rebuild the projection. */
  loadAll: () => Promise<Array<{ segment: Segment; version: number }>>;
  logger: Logger;
  reconcileIntervalMs?: number;
}

type Entry = { segment: Segment; version: number };

/**
 * Keeps this process's segments current: loaded at start, updated from pub/sub, and reconciled every
 * second against the projection's change counter and Postgres' revision (which repairs the projection).
 */
export class SegmentSync {
  private readonly segments = new Map<string, Entry>();
  private readonly tombstones = new Map<string, number>();
  private changes = -1;
  private timer: NodeJS.Timeout | undefined;
  /** Set by stop(): a reconcile already in flight when the process shuts Redis down fails quietly. */
  private stopped = false;
  private reconciling = false;

  constructor(private readonly deps: SegmentSyncDeps) {}

  async start(): Promise<void> {
    this.stopped = false;
    const { subscriber, projection } = this.deps;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === projection.channel) void this.receive(message);
    });
    await subscriber.subscribe(projection.channel);
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), this.deps.reconcileIntervalMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Installs a segment this process just wrote, before the pub/sub round trip. */
  applyLocal(segment: Segment, version: number): void {
    if (this.set(segment.key, { segment, version })) this.install();
  }

  /** Drops a segment this process just deleted. */
  removeLocal(key: string, version: number): void {
    if (this.remove(key, version)) this.install();
  }

  private set(key: string, entry: Entry): boolean {
    const current = this.segments.get(key)?.version ?? this.tombstones.get(key) ?? -1;
    if (current >= entry.version) return false;
    this.segments.set(key, entry);
    this.tombstones.delete(key);
    return true;
  }

  private remove(key: string, version: number): boolean {
    const current = this.segments.get(key)?.version ?? this.tombstones.get(key) ?? -1;
    if (current >= version) return false;
    this.segments.delete(key);
    this.tombstones.set(key, version);
    return true;
  }

  private install(): void {
    this.deps.sink.setSegments(new Map([...this.segments].map(([key, entry]) => [key, entry.segment])));
  }

  private async receive(message: string): Promise<void> {
    try {
      const change = JSON.parse(message) as SegmentChange;
      if (change.event === 'segment.deleted') {
        if (this.remove(change.key, change.version)) this.install();
        return;
      }
      const current = this.segments.get(change.key)?.version ?? -1;
      if (current >= change.version) return;
      const read = await this.deps.projection.read(change.key);
      if (read && this.set(change.key, read)) this.install();
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'ignored an unreadable segment change; the reconciler will catch up');
    }
  }

  /** Repairs the projection from Postgres when it is behind, then reloads when the change counter moved. */
  async reconcile(): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    const { projection, logger } = this.deps;
    try {
      const revision = await this.deps.loadRevision().catch(() => null); // Postgres may be down: serve on.
      if (revision !== null && (await projection.revision()) < revision) {
        const all = await this.deps.loadAll();
        for (const { segment, version } of all) await projection.write(segment, version);
        const keep = new Set(all.map(({ segment }) => segment.key));
        for (const key of await projection.keysPresent()) if (!keep.has(key)) await projection.remove(key, revision);
        await projection.raiseRevision(revision);
        logger.info({ segments: all.length, revision }, 'repaired the segment projection from Postgres');
      }
      const changes = await projection.changes();
      if (changes !== this.changes) {
        const read = await projection.readAll();
        const present = new Set(read.segments.map(({ segment }) => segment.key));
        let changed = false;
        for (const entry of read.segments) changed = this.set(entry.segment.key, entry) || changed;
        for (const key of [...this.segments.keys()]) {
          if (!present.has(key)) {
            this.segments.delete(key);
            changed = true;
          }
        }
        this.changes = read.changes;
        if (changed) this.install();
      }
    } catch (error) {
      if (!this.stopped) logger.warn({ err: error }, 'segment reconciliation failed; serving the last segments');
    } finally {
      this.reconciling = false;
    }
  }
}
