import type { FlagDefinition } from '../domain/flag.js';
import type { ChangeKind } from '../domain/flag-change.js';
import type { Logger } from '../logger.js';
import type { RedisProjection } from './projection.js';

/** Takes a committed change to the serving layer: the Redis projection and the pub/sub announcement. */
export interface FlagPublisher {
  /** Projects and announces; failures are reported (false), never thrown: the reconciler repairs Redis later. */
  publish(definition: FlagDefinition, event: ChangeKind): Promise<boolean>;
  /** Writes the projection only (never lowering a version); throws when Redis fails, for callers that retry (activities). */
  project(definition: FlagDefinition): Promise<boolean>;
  /** Announces only; throws when Redis fails. Replicas ignore a definition they already have. */
  announce(definition: FlagDefinition, event: ChangeKind): Promise<void>;
}

export function createFlagPublisher(deps: {
  projection: RedisProjection;
  logger: Logger;
  /** Applies the change to this process's own L1 (and its SSE clients) at once, before the pub/sub round trip. */
  applyLocally?: (definition: FlagDefinition) => void;
}): FlagPublisher {
  const project = (definition: FlagDefinition) => deps.projection.write(definition);
  const announce = (definition: FlagDefinition, event: ChangeKind) => deps.projection.publish({ event, definition });
  return {
    project,
    announce,
    async publish(definition, event) {
      // One round trip: the Lua write and the announcement are pipelined. They are written before this
      // process applies the change (and fans it out to its own stream clients, a synchronous loop of
      // tens of milliseconds at 10,000 clients), so the other replicas never wait for that.
      const sent = Promise.all([project(definition), announce(definition, event)]);
      deps.applyLocally?.(definition);
      try {
        await sent;
        return true;
      } catch (error) {
        // Postgres has the change; the reconciler re-projects it when Redis is back.
        deps.logger.warn({ err: error, flag: definition.key, environment: definition.environment }, 'projection deferred');
        return false;
      }
    },
  };
}
