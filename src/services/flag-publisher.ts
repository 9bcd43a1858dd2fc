import type { FlagDefinition } from '../domain/flag.js';
import type { ChangeKind } from '../domain/flag-change.js';
import type { Logger } from '../logger.js';
import type { RedisProjection } from '../stores/projection.js';

/** Projects a committed change to Redis and announces it; failures are reported, never thrown. */
export interface FlagPublisher {
  publish(definition: FlagDefinition, event: ChangeKind): Promise<boolean>;
}

export function createFlagPublisher(deps: {
  projection: RedisProjection;
  logger: Logger;
  /** Applies the change to this process's own L1 (and its SSE clients) at once, before the pub/sub round trip. */
  applyLocally?: (definition: FlagDefinition) => void;
}): FlagPublisher {
  return {
    async publish(definition, event) {
      deps.applyLocally?.(definition);
      try {
        // One round trip: the Lua write and the announcement are pipelined.
        const written = deps.projection.write(definition);
        const announced = deps.projection.publish({ event, definition });
        await Promise.all([written, announced]);
        return true;
      } catch (error) {
        // Postgres has the change; the reconciler re-projects it when Redis is back.
        deps.logger.warn({ err: error, flag: definition.key, environment: definition.environment }, 'projection deferred');
        return false;
      }
    },
  };
}
