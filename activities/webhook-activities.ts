import { ApplicationFailure } from '@temporalio/activity';
import { RefusedDestination } from '../src/webhooks/webhook-destination.js';
import { createWebhookDelivery, WebhookGone } from '../src/webhooks/webhook-delivery.js';
import type { ActivityDeps } from './activity-deps.js';

/** Webhook deliveries: one POST per attempt; Temporal retries with backoff what a retry may fix. */
export function createWebhookActivities(deps: Pick<ActivityDeps, 'db' | 'webhookDestinations' | 'webhookSecrets'>) {
  const delivery = createWebhookDelivery({ db: deps.db, destinations: deps.webhookDestinations, secrets: deps.webhookSecrets });
  return {
    /** POSTs the delivery once; a non-2xx answer or a network error throws, so Temporal retries with backoff. */
    async postWebhook(deliveryId: string): Promise<{ status: number }> {
      try {
        return await delivery.attempt(deliveryId);
      } catch (error) {
        // A refused destination stays refused, and a deleted webhook stays deleted: fail the delivery at once.
        if (error instanceof RefusedDestination || error instanceof WebhookGone) throw ApplicationFailure.nonRetryable(error.message, error.name);
        throw error;
      }
    },

    /** Marks a delivery failed once its retries are spent. */
    async markDeliveryFailed(input: { deliveryId: string; error: string }): Promise<void> {
      await delivery.markFailed(input.deliveryId, input.error);
    },
  };
}
