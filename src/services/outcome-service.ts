import type { Database } from '../stores/database.js';
import { recordOutcomes, type OutcomeCount } from '../stores/event-store.js';

/** Outcomes (success or error per flag variant) that SDKs and services report, counted for rollout guards. */
export function createOutcomeService(deps: { db: Database }) {
  return {
    /** Adds the outcomes to the environment's per-minute counters. */
    async record(environment: string, outcomes: OutcomeCount[]): Promise<void> {
      await recordOutcomes(deps.db, environment, new Date(), outcomes);
    },
  };
}

export type OutcomeService = ReturnType<typeof createOutcomeService>;
