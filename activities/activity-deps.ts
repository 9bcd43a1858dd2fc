import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Redis } from 'ioredis';
import { NotFoundError } from '../src/errors.js';
import type { FlagPublisher } from '../src/cache/flag-publisher.js';
import type { Database } from '../src/connections/database.js';
import type { AckWatcher } from '../src/serving/change-confirmation.js';
import type { InstanceWatcher } from '../src/serving/instance-confirmation.js';
import type { Alerter } from './alerts.js';
import type { LifecycleDigestDeps } from './lifecycle-activities.js';
import type { SecretBox } from '../src/auth/secret-box.js';
import type { DestinationPolicy } from '../src/config-parsers.js';
import type { WorkflowStarter } from '../src/temporal/workflow-starter.js';

/** What the worker hands to every activity: real connections in production and tests alike. */
export interface ActivityDeps {
  db: Database;
  /** For reading the API replicas' heartbeats. */
  redis: Redis;
  /** REDIS_PREFIX: the first part of the keys and channels the API replicas use. */
  redisPrefix?: string;
  /** Waits for the API replicas' acknowledgements of a change. */
  acks: AckWatcher;
  /** Waits for the SDK instances (as each replica aggregates them) to hold a change. */
  instances: InstanceWatcher;
  /** Takes changes to Redis: the one way every activity projects and announces. */
  publisher: FlagPublisher;
  alerter: Alerter;
  temporalUiUrl: string;
  namespace: string;
  prometheusUrl?: string;
  /** Events one reporter may weigh in a guard cohort's rate (GUARD_MAX_EVENTS_PER_REPORTER); 0: no cap. */
  guardReporterCap: number;
  /** Where webhooks may be delivered (WEBHOOK_ALLOWED_HOSTS), checked again at every delivery. */
  webhookDestinations: DestinationPolicy;
  /** Decrypts webhook signing secrets (WEBHOOK_SECRET_KEY). */
  webhookSecrets: SecretBox;
  /** Starts the rollout of an approved change request; without it the start waits in the outbox for the relay. */
  starter?: WorkflowStarter;
  /** The weekly lifecycle digest's thresholds, fallback channel and Slack; default thresholds and a log without it. */
  lifecycle?: LifecycleDigestDeps;
}

export interface FlagRef {
  flagKey: string;
  environment: string;
}

/** Bad input (an unknown flag) must not be retried forever. */
export async function nonRetryableOnNotFound<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof NotFoundError) throw ApplicationFailure.nonRetryable(error.message, 'NotFoundError');
    throw error;
  }
}

/** An idempotency key for something the running activity refused: one per activity the workflow scheduled (its retries share it). */
export function activityRefusalKey(appliedKey: string): string {
  const info = Context.current().info;
  return `${appliedKey}:refused:${info.workflowExecution?.runId ?? ''}:${info.activityId}`;
}
