import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities.js';

export interface WebhookDeliveryInput {
  deliveryId: string;
  maxAttempts: number;
  initialInterval: string;
}

const bookkeeping = proxyActivities<Activities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 10 } });

/** One webhook delivery: signed POSTs retried with exponential backoff, then marked failed in the log. */
export async function deliverWebhook(input: WebhookDeliveryInput): Promise<{ status: 'succeeded' | 'failed' }> {
  const { postWebhook } = proxyActivities<Activities>({
    startToCloseTimeout: '20 seconds',
    retry: {
      initialInterval: input.initialInterval as '1 second',
      backoffCoefficient: 2,
      maximumInterval: '10 minutes',
      maximumAttempts: input.maxAttempts,
      nonRetryableErrorTypes: ['WebhookGone'],
    },
  });
  try {
    await postWebhook(input.deliveryId);
    return { status: 'succeeded' };
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? String(error);
    await bookkeeping.markDeliveryFailed({ deliveryId: input.deliveryId, error: cause });
    return { status: 'failed' };
  }
}
