import { flagConfigInputSchemaFor } from '../domain/flag.js';
import { fieldIssues } from '../errors.js';
import type { Queryable } from '../stores/database.js';
import { applyConfigChangeOnce } from './config-change.js';

/** A config change waiting for its time in a scheduledChange workflow. */
export interface ScheduledChangeInput {
  changeId: string;
  flagKey: string;
  environment: string;
  /** ISO 8601 time at which the change applies. */
  at: string;
  /** The full config, as PUT /api/v1/flags/{key}/environments/{env} takes it. */
  config: unknown;
  actor: { id: string; name: string };
  reason: string;
}

/** Thrown when a scheduled config no longer fits the flag (never retried). */
export class InvalidScheduledConfig extends Error {
  override readonly name = 'InvalidConfig';
}

/** Applies a scheduled change once (its change id is the idempotency key), validated against the flag's type now. */
export function applyScheduledChange(tx: Queryable, input: ScheduledChangeInput) {
  return applyConfigChangeOnce(tx, {
    flagKey: input.flagKey,
    environment: input.environment,
    idempotencyKey: `scheduled:${input.changeId}`,
    action: 'flag.config.scheduled_update',
    actor: input.actor,
    reason: input.reason,
    metadata: { changeId: input.changeId, scheduledFor: input.at },
    change: (current, type) => {
      const parsed = flagConfigInputSchemaFor(type).safeParse(input.config);
      if (!parsed.success) {
        const issues = fieldIssues(parsed.error.issues).map((i) => `${i.path}: ${i.message}`).join('; ');
        throw new InvalidScheduledConfig(`The scheduled config no longer fits the flag: ${issues}`);
      }
      return { ...current, ...parsed.data };
    },
  });
}
