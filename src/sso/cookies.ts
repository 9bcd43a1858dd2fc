import { parse, serialize, type SerializeOptions } from 'cookie';
import { LOGIN_STATE_MAX_AGE_SECONDS } from './login-state.js';
import type { SessionSettings } from './settings.js';

/**
 * The two cookies of single sign-on: the session, and the login state of a sign-in under way. Both
 * httpOnly (no script reads them), SameSite=Lax (not sent with another site's writes, but sent when
 * the identity provider sends the browser back), and Secure with the `__Host-` prefix (this origin
 * only, never a parent domain) unless Ripcord is reached over plain http on this machine.
 */
export interface SsoCookies {
  readonly sessionName: string;
  readonly loginName: string;
  session(secret: string, maxAgeSeconds: number): string;
  clearSession(): string;
  login(value: string): string;
  clearLogin(): string;
  /** The value of a cookie of a request's Cookie header. */
  read(header: string | undefined, name: string): string | undefined;
}

export function ssoCookies(settings: Pick<SessionSettings, 'secureCookies'>): SsoCookies {
  const prefix = settings.secureCookies ? '__Host-' : '';
  const sessionName = `${prefix}ripcord_session`;
  const loginName = `${prefix}ripcord_sso_login`;
  const base: SerializeOptions = { httpOnly: true, secure: settings.secureCookies, sameSite: 'lax', path: '/' };
  return {
    sessionName,
    loginName,
    session: (secret, maxAgeSeconds) => serialize(sessionName, secret, { ...base, maxAge: maxAgeSeconds }),
    clearSession: () => serialize(sessionName, '', { ...base, maxAge: 0 }),
    login: (value) => serialize(loginName, value, { ...base, maxAge: LOGIN_STATE_MAX_AGE_SECONDS }),
    clearLogin: () => serialize(loginName, '', { ...base, maxAge: 0 }),
    read(header, name) {
      if (!header || header.length > 16_384) return undefined;
      return parse(header)[name];
    },
  };
}
