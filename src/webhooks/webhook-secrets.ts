import type { Config } from '../config.js';
import { withTransaction, type Database } from '../connections/database.js';
import { countWebhooks, listPlaintextSecrets, replaceWebhookSecret } from './webhook-store.js';
import { createSecretBox, MissingSecretKey, type SecretBox } from '../auth/secret-box.js';
import { parseAllowedHosts, parseSecretKey, type DestinationPolicy } from '../config-parsers.js';

/** The webhook secrets' box from WEBHOOK_SECRET_KEY (without a key it refuses to encrypt or decrypt). */
export function webhookSecretBox(config: Pick<Config, 'WEBHOOK_SECRET_KEY'>): SecretBox {
  return createSecretBox(config.WEBHOOK_SECRET_KEY ? parseSecretKey(config.WEBHOOK_SECRET_KEY) : undefined);
}

/** Where webhooks may go beyond public addresses, from WEBHOOK_ALLOWED_HOSTS. */
export function webhookDestinations(config: Pick<Config, 'WEBHOOK_ALLOWED_HOSTS'>): DestinationPolicy {
  return parseAllowedHosts(config.WEBHOOK_ALLOWED_HOSTS);
}

export class WebhookKeyMissing extends Error {
  override readonly name = 'WebhookKeyMissing';
}

/** At start-up: webhooks exist (each with a secret) but WEBHOOK_SECRET_KEY is unset, so deliveries could not be signed. */
export async function refuseWebhooksWithoutKey(db: Database, config: Pick<Config, 'WEBHOOK_SECRET_KEY'>): Promise<void> {
  if (config.WEBHOOK_SECRET_KEY) return;
  const stored = await countWebhooks(db);
  if (stored > 0) throw new WebhookKeyMissing(`WEBHOOK_SECRET_KEY must be set: ${stored} webhook(s) have secrets stored encrypted with it`);
}

/**
 * The data step of `migrate`: encrypts the secrets stored in plaintext before encryption at rest existed.
 * Idempotent; returns how many it encrypted. Without a key it refuses when there are any.
 */
export async function encryptPlaintextWebhookSecrets(db: Database, box: SecretBox): Promise<number> {
  return withTransaction(db, async (tx) => {
    const plaintext = await listPlaintextSecrets(tx);
    if (plaintext.length === 0) return 0;
    try {
      for (const { id, secret } of plaintext) await replaceWebhookSecret(tx, id, box.encrypt(secret));
    } catch (error) {
      if (error instanceof MissingSecretKey) throw new Error(`WEBHOOK_SECRET_KEY must be set to encrypt the ${plaintext.length} webhook secret(s) stored in plaintext`);
      throw error;
    }
    return plaintext.length;
  });
}
