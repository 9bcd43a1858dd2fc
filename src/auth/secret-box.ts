import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Encrypts secrets kept in the database (webhook signing secrets) with AES-256-GCM under a key from the
 * environment (WEBHOOK_SECRET_KEY), so a database dump or a read-only SQL hole does not hand out the
 * keys receivers trust. Stored form: `enc:v1:<iv>:<tag>:<ciphertext>`, each part base64url.
 */
const PREFIX = 'enc:v1:';

export const isEncryptedSecret = (stored: string) => stored.startsWith(PREFIX);

export interface SecretBox {
  encrypt(plaintext: string): string;
  decrypt(stored: string): string;
}

/** Thrown when a secret must be encrypted or read but no key is configured. */
export class MissingSecretKey extends Error {
  override readonly name = 'MissingSecretKey';
  constructor() {
    super('WEBHOOK_SECRET_KEY is not set: webhook secrets are stored encrypted with it');
  }
}

export function createSecretBox(key: Buffer | undefined): SecretBox {
  return {
    encrypt(plaintext) {
      if (!key) throw new MissingSecretKey();
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${PREFIX}${iv.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}:${ciphertext.toString('base64url')}`;
    },
    decrypt(stored) {
      if (!key) throw new MissingSecretKey();
      if (!isEncryptedSecret(stored)) throw new Error('the stored secret is not encrypted: run `migrate` with WEBHOOK_SECRET_KEY set');
      const [iv, tag, ciphertext] = stored.slice(PREFIX.length).split(':');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'));
      decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
      try {
        return Buffer.concat([decipher.update(Buffer.from(ciphertext ?? '', 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new Error('a stored secret cannot be decrypted with WEBHOOK_SECRET_KEY (was the key changed?)');
      }
    },
  };
}
