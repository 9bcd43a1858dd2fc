import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { DestinationPolicy } from '../config-parsers.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { Queryable } from '../connections/database.js';
import { checkDestination, checkedLookup } from './webhook-destination.js';
import { findDelivery, loadWebhookSecret, recordAttempt } from './webhook-store.js';

/** The delivery's webhook was deleted or disabled: there is nothing to deliver, now or on a retry. */
export class WebhookGone extends Error {
  override readonly name = 'WebhookGone';
}

/**
 * One POST through node:http(s) with `lookup` checking the resolved addresses (DNS rebinding), no
 * redirects followed; resolves with the status code.
 */
function post(url: URL, headers: Record<string, string>, body: string, lookup: LookupFunction, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST', lookup, timeout: timeoutMs, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

/** The signature receivers check: HMAC-SHA256 over `<timestamp>.<raw body>` with the webhook's secret. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Webhook deliveries: one POST per attempt, each attempt written to the delivery log. An attempt that
 * throws RefusedDestination or WebhookGone fails the same way on a retry; any other error may pass.
 */
export function createWebhookDelivery(deps: { db: Queryable; destinations: DestinationPolicy; secrets: SecretBox }) {
  const lookup = checkedLookup(deps.destinations);
  return {
    /** POSTs the delivery once; a non-2xx answer or a network error throws. */
    async attempt(deliveryId: string): Promise<{ status: number }> {
      const delivery = await findDelivery(deps.db, deliveryId);
      const webhook = delivery ? await loadWebhookSecret(deps.db, delivery.webhookId) : null;
      if (!delivery || !webhook || !webhook.enabled) throw new WebhookGone('the webhook was deleted or disabled');
      const body = JSON.stringify({ ...delivery.payload, id: delivery.id });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const url = new URL(webhook.url);
      let status: number;
      try {
        // Checked again at delivery: the host may resolve elsewhere than when the webhook was created.
        await checkDestination(deps.destinations, url);
        status = await post(url, {
          'content-type': 'application/json',
          'user-agent': 'Ripcord-Webhooks/1',
          'x-ripcord-event': delivery.event,
          'x-ripcord-delivery': delivery.id,
          'x-ripcord-timestamp': timestamp,
          'x-ripcord-signature': signWebhook(deps.secrets.decrypt(webhook.secret), timestamp, body),
        }, body, lookup, 10_000);
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
    async markFailed(deliveryId: string, error: string): Promise<void> {
      await recordAttempt(deps.db, deliveryId, { statusCode: null, error, final: 'failed' });
    },
  };
}
