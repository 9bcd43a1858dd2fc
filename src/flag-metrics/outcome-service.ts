import { NotFoundError } from '../errors.js';
import type { Database } from '../connections/database.js';
import { recordOutcomes, type OutcomeCount } from './event-store.js';
import { liveFlagKeysIn } from '../flags/flag-store.js';

/** Outcomes (success or error per flag variant) that SDKs and services report, counted for rollout guards. */
export function createOutcomeService(deps: { db: Database }) {
  return {
    /**
     * Adds the outcomes to the environment's per-minute counters. A batch naming a flag that is unknown,
     * archived or absent from the environment is refused whole (404), so nobody fills a guard's
     * counters for a flag that does not exist. `reporter` is who sent it (`token:<id>` or `user:<id>`).
     */
    async record(environment: string, reporter: string, outcomes: OutcomeCount[]): Promise<void> {
      const keys = [...new Set(outcomes.map((o) => o.flagKey))];
      const live = await liveFlagKeysIn(deps.db, environment, keys);
      const unknown = keys.filter((key) => !live.has(key));
      if (unknown.length > 0) {
        throw new NotFoundError(`No flag ${unknown.map((k) => `'${k}'`).join(', ')} in environment '${environment}'`, { flags: unknown });
      }
      await recordOutcomes(deps.db, environment, reporter, new Date(), outcomes);
    },
  };
}

export type OutcomeService = ReturnType<typeof createOutcomeService>;
