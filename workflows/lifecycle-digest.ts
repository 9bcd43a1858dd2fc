import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities.js';
import { isoWeek } from '../src/domain/lifecycle.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '10 seconds', maximumInterval: '10 minutes', maximumAttempts: 20 },
});

export interface LifecycleDigestInput {
  /** The digest's week (idempotency period); default: the ISO week the run started in. */
  week?: string;
}

export interface LifecycleDigestResult {
  week: string;
  posted: number;
  alreadyPosted: number;
  /** Flags of owners without a Slack link when no fallback channel is configured. */
  unrouted: number;
}

/**
 * The weekly lifecycle digest, started by a Temporal schedule (LIFECYCLE_DIGEST_SCHEDULE): launched and
 * stale flags per owner, one Slack message each, at most once per ISO week and recipient.
 */
export async function lifecycleDigest(input: LifecycleDigestInput = {}): Promise<LifecycleDigestResult> {
  const week = input.week ?? isoWeek(Date.now()); // workflow time: the same on every replay
  const { messages, unrouted } = await acts.gatherLifecycleDigest();
  const result: LifecycleDigestResult = { week, posted: 0, alreadyPosted: 0, unrouted };
  for (const message of messages) {
    const outcome = await acts.postLifecycleDigest({ week, message });
    if (outcome === 'already-posted') result.alreadyPosted++;
    else result.posted++;
  }
  return result;
}
