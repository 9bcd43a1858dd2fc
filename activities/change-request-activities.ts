import { applyChangeRequest, type ChangeRequestApplied } from '../src/services/change-request-apply.js';
import { withTransaction } from '../src/stores/database.js';
import { nonRetryableOnNotFound, type ActivityDeps } from './activity-deps.js';

/** Change requests: an approved request's change, applied once after re-validation. */
export function createChangeRequestActivities(deps: ActivityDeps) {
  return {
    /** Applies (or finds conflicted / failed) an approved request, or starts its rollout; a retry after it applied changes nothing. */
    async applyChangeRequest(requestId: string): Promise<Omit<ChangeRequestApplied, 'definition'>> {
      const { definition, ...applied } = await nonRetryableOnNotFound(() => withTransaction(deps.db, (tx) => applyChangeRequest(tx, requestId, { starter: deps.starter })));
      if (definition) await deps.publisher.publish(definition, applied.restore ? 'flag.restored' : 'flag.updated');
      return applied;
    },
  };
}
