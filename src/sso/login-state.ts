import { z } from 'zod';
import type { LoginChecks } from './oidc-client.js';

/**
 * What a browser carries from the start of a sign-in to the identity provider's callback, in a
 * short-lived httpOnly cookie: the state, nonce and PKCE verifier the callback must match, and the
 * page to return to. Binding them to the browser (rather than to the URL alone) is what stops a
 * callback link made for someone else's sign-in from signing this browser in.
 */

/** A sign-in must come back within this long. */
export const LOGIN_STATE_MAX_AGE_SECONDS = 600;

/** A page of the admin UI on this origin: one leading slash (never `//host` or `/\host`), printable ASCII. */
const LOCAL_PATH = /^\/(?![/\\])[\x21-\x7e]{0,2000}$/;

/** The page to return to after sign-in; anything that could leave this origin becomes `/`. */
export function safeReturnPath(value: unknown): string {
  return typeof value === 'string' && LOCAL_PATH.test(value) && !value.includes('\\') ? value : '/';
}

const loginStateSchema = z.object({
  state: z.string().min(1).max(200),
  nonce: z.string().min(1).max(200),
  codeVerifier: z.string().min(43).max(128),
  returnTo: z.string().max(2001),
  startedAt: z.number().int(),
});
export type LoginState = LoginChecks & { returnTo: string; startedAt: number };

export function encodeLoginState(state: LoginState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

/** The login state of a cookie, or null when it is missing, unreadable or too old. */
export function decodeLoginState(value: string | undefined, now = Date.now()): LoginState | null {
  if (!value || value.length > 4096) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const result = loginStateSchema.safeParse(parsed);
  if (!result.success) return null;
  const age = now - result.data.startedAt;
  if (age < 0 || age > LOGIN_STATE_MAX_AGE_SECONDS * 1000) return null;
  return { ...result.data, returnTo: safeReturnPath(result.data.returnTo) };
}
