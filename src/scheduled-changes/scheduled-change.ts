import { ValidationError } from '../errors.js';
import type { Queryable } from '../connections/database.js';
import { findFlag } from '../flags/flag-store.js';
import { authorRightsLost } from '../change-requests/author-rights.js';
import { applyConfigChangeOnce } from '../flags/config-change.js';
import { parseConfigInput, requireKnownSegments } from '../flags/config-validation.js';

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

/** Thrown when a scheduled change can no longer apply: its config no longer fits, or its author lost the right (never retried). */
export class InvalidScheduledConfig extends Error {
  override readonly name = 'InvalidConfig';
}

/** A change outlives neither its author's deactivation nor the loss of the grant (authorRightsLost). */
async function requireAuthorAllowed(tx: Queryable, input: ScheduledChangeInput, tags: readonly string[]): Promise<void> {
  const lost = await authorRightsLost(tx, input.actor, { key: input.flagKey, tags }, input.environment);
  if (lost) throw new InvalidScheduledConfig(lost.charAt(0).toUpperCase() + lost.slice(1));
}

/**
 * Applies a scheduled change once (its change id is the idempotency key), after the checks PUT
 * makes (the flag's type, existing segments) and the author's rights, all as they are now.
 */
export async function applyScheduledChange(tx: Queryable, input: ScheduledChangeInput) {
  const flag = await findFlag(tx, input.flagKey);
  if (flag && !flag.archivedAt) {
    await requireAuthorAllowed(tx, input, flag.tags);
    try {
      await requireKnownSegments(tx, parseConfigInput(flag.type, input.config, 'config'), 'config');
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const issues = (error.details as Array<{ path: string; message: string }>).map((i) => `${i.path}: ${i.message}`).join('; ');
      throw new InvalidScheduledConfig(`The scheduled config no longer fits the flag: ${issues}`);
    }
  }
  return applyConfigChangeOnce(tx, {
    flagKey: input.flagKey,
    environment: input.environment,
    idempotencyKey: `scheduled:${input.changeId}`,
    action: 'flag.config.scheduled_update',
    actor: input.actor,
    reason: input.reason,
    metadata: { changeId: input.changeId, scheduledFor: input.at },
    change: (current, type) => ({ ...current, ...parseConfigInput(type, input.config, 'config') }),
  });
}
