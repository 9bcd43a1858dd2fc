import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hashToken } from '../auth/principal.js';
import { createSecretBox } from '../auth/secret-box.js';

/**
 * A session's secret lives only in the browser's cookie. The database keeps its SHA-256 digest (as
 * for API tokens); the CSRF token and the key that seals the session's ID token are derived from it,
 * so neither needs storing and neither can be had without the cookie.
 */

/** 256 random bits, base64url (43 characters). */
export function newSessionSecret(): string {
  return randomBytes(32).toString('base64url');
}

export const SESSION_SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function sessionDigest(secret: string): string {
  return hashToken(secret);
}

/** The CSRF token of a session: an HMAC of a fixed label under its secret (a script on another site can read neither). */
export function csrfTokenFor(secret: string): string {
  return createHmac('sha256', secret).update('ripcord csrf v1').digest('base64url');
}

/** Constant-time check of a presented CSRF token. */
export function csrfTokenMatches(secret: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfTokenFor(secret));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const boxFor = (secret: string) => createSecretBox(createHash('sha256').update(`ripcord id-token seal v1\0${secret}`).digest());

/** Seals a value (the ID token) under the session's secret: AES-256-GCM. */
export function sealWithSession(secret: string, plaintext: string): string {
  return boxFor(secret).encrypt(plaintext);
}

/** Opens a sealed value; null when it does not open under this secret. */
export function openWithSession(secret: string, sealed: string): string | null {
  try {
    return boxFor(secret).decrypt(sealed);
  } catch {
    return null;
  }
}
