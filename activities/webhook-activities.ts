import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { findDelivery, loadWebhookSecret, recordAttempt } from '../src/stores/webhook-store.js';
import type { ActivityDeps } from './activity-deps.js';

/** The signature receivers check: HMAC-SHA256 over `<timestamp>.<raw body>` with the webhook's secret. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Webhook deliveries: one POST per attempt, each attempt written to the delivery log. */
export function createWebhookActivities(deps: Pick<ActivityDeps, 'db'>) {
  return {
    /** POSTs the delivery once; a non-2xx answer or a network error throws, so Temporal retries with backoff. */
    async postWebhook(deliveryId: string): Promise<{ status: number }> {
      const delivery = await findDelivery(deps.db, deliveryId);
      const webhook = delivery ? await loadWebhookSecret(deps.db, delivery.webhookId) : null;
      if (!delivery || !webhook || !webhook.enabled) throw ApplicationFailure.nonRetryable('the webhook was deleted or disabled', 'WebhookGone');
      const body = JSON.stringify({ ...delivery.payload, id: delivery.id });
      const timestamp = String(Math.floor(Date.now() / 1000));
      let status: number | null = null;
      try {
        const response = await fetch(webhook.url, {
          method: 'POST',
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Ripcord-Webhooks/1',
            'x-ripcord-event': delivery.event,
            'x-ripcord-delivery': delivery.id,
            'x-ripcord-timestamp': timestamp,
            'x-ripcord-signature': signWebhook(webhook.secret, timestamp, body),
          },
          body,
        });
        status = response.status;
        await response.body?.cancel();
      } catch (error) {
        await recordAttempt(deps.db, deliveryId, { statusCode: null, error: String(error), final: null });
        throw error;
      }
      if (status < 200 || status >= 300) {
        await recordAttempt(deps.db, deliveryId, { statusCode: status, error: `receiver answered ${status}`, final: null });
        throw new Error(`receiver answered ${status}`);
      }
      await recordAttempt(deps.db, deliveryId, { statusCode: status, error: null, final: 'succeeded' });
      return { status };
    },

    /** Marks a delivery failed once its retries are spent. */
    async markDeliveryFailed(input: { deliveryId: string; error: string }): Promise<void> {
      await recordAttempt(deps.db, input.deliveryId, { statusCode: null, error: input.error, final: 'failed' });
    },
  };
}
