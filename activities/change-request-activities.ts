import { createLogger } from '../src/logger.js';
import { applyChangeRequest, type ChangeRequestApplied } from '../src/change-requests/change-request-apply.js';
import { publishSegmentChange } from '../src/change-requests/change-request-segments.js';
import { createSegmentService } from '../src/segments/segment-service.js';
import { withTransaction } from '../src/connections/database.js';
import { SegmentProjection } from '../src/cache/segment-projection.js';
import { nonRetryableOnNotFound, type ActivityDeps } from './activity-deps.js';

/** Change requests: an approved request's change, applied once after re-validation. */
export function createChangeRequestActivities(deps: ActivityDeps) {
  // Segment requests apply through the segment service's own write, projection and broadcast.
  const segments = createSegmentService({
    db: deps.db, projection: new SegmentProjection(deps.redis, deps.redisPrefix), publisher: deps.publisher, logger: createLogger(process.env.LOG_LEVEL ?? 'info', 'change-request-activities'),
  });
  return {
    /** Applies (or finds conflicted / failed) an approved request, or starts its rollout; a retry after it applied changes nothing. */
    async applyChangeRequest(requestId: string): Promise<Omit<ChangeRequestApplied, 'definition' | 'segment'>> {
      const { definition, segment, ...applied } = await nonRetryableOnNotFound(() => withTransaction(deps.db, (tx) => applyChangeRequest(tx, requestId, { starter: deps.starter, segments })));
      if (definition) await deps.publisher.publish(definition, applied.restore ? 'flag.restored' : 'flag.updated');
      if (segment) await publishSegmentChange(segments, segment);
      return applied;
    },
  };
}
