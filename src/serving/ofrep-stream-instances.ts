import { randomUUID } from 'node:crypto';
import type { InstanceOwner, InstanceRegistry } from './instance-registry.js';

/**
 * OFREP providers on this replica's event stream, counted as SDK instances. A provider never says
 * what it holds; it proves it by re-fetching the bulk evaluation with the notification's
 * `flagConfigEtag`. A re-fetch carries no stream id, so it is matched to the streams of the same
 * token and client address in the environment (two tabs of one browser count as one re-fetch each:
 * either one's re-fetch raises both, which a shared token and address can't tell apart).
 */
export class OfrepStreamInstances {
  /** `environment \0 token \0 address` → the instance ids of those streams. */
  private readonly byClient = new Map<string, Set<string>>();

  constructor(private readonly registry: InstanceRegistry, private readonly served: (environment: string) => number) {}

  /**
   * A stream opened; returns what to call when it closes. It holds the version it resumed from
   * (Last-Event-ID: it is told to re-fetch at once when behind), else what it just fetched (a provider
   * opens its stream right after a bulk evaluation).
   */
  opened(environment: string, owner: InstanceOwner, lastEventId: number | undefined): () => void {
    const id = randomUUID();
    const version = lastEventId ?? this.served(environment);
    const counted = this.registry.report(
      { id, kind: 'ofrep-stream', environment, app: null, app_version: null, host: null, sdk_version: null, version },
      owner, { bound: true },
    );
    if (!counted) return () => undefined;
    const client = clientKey(environment, owner);
    let ids = this.byClient.get(client);
    if (!ids) this.byClient.set(client, (ids = new Set()));
    ids.add(id);
    return () => {
      this.registry.remove(id, environment);
      ids.delete(id);
      if (ids.size === 0 && this.byClient.get(client) === ids) this.byClient.delete(client);
    };
  }

  /** A bulk re-fetch named `version` (flagConfigEtag) and was answered with it: that client's streams hold it. */
  refetched(environment: string, owner: InstanceOwner, version: number): void {
    const ids = this.byClient.get(clientKey(environment, owner));
    if (!ids) return;
    for (const id of ids) this.registry.raise(id, environment, version);
  }
}

const clientKey = (environment: string, owner: InstanceOwner) => `${environment}\u0000${owner.key}\u0000${owner.address}`;
