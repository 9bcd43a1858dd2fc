import type { Role } from '../auth/rbac.js';
import type { Config } from '../config.js';
import type { OidcClientSettings } from './oidc-client.js';
import type { GroupRule } from './schemas.js';

/** The path the identity provider sends browsers back to (register `<RIPCORD_PUBLIC_URL>/api/v1/sso/callback` with it). */
export const CALLBACK_PATH = '/api/v1/sso/callback';

/** Sessions: how long they last, and what their cookie is called. */
export interface SessionSettings {
  idleSeconds: number;
  absoluteSeconds: number;
  /** Secure cookies (and the `__Host-` prefix) unless Ripcord is reached over plain http on this machine. */
  secureCookies: boolean;
}

/** Sign-in with the identity provider, when OIDC_ISSUER is set. */
export interface SsoSettings {
  client: OidcClientSettings;
  providerName: string;
  /** null: roles are managed in Ripcord (OIDC_GROUPS_CLAIM=none). */
  groupsClaim: string | null;
  rules: GroupRule[];
  defaultRole: Role | 'none';
  allowedEmailDomains: string[];
}

export function sessionSettings(config: Config): SessionSettings {
  return {
    idleSeconds: config.SESSION_IDLE_TIMEOUT_SECONDS,
    absoluteSeconds: config.SESSION_ABSOLUTE_TIMEOUT_SECONDS,
    secureCookies: config.RIPCORD_PUBLIC_URL ? new URL(config.RIPCORD_PUBLIC_URL).protocol === 'https:' : false,
  };
}

/** The single sign-on settings of a config, or undefined when OIDC_ISSUER is unset (config.ts has checked the rest). */
export function ssoSettings(config: Config): SsoSettings | undefined {
  if (!config.OIDC_ISSUER || !config.OIDC_CLIENT_ID || !config.RIPCORD_PUBLIC_URL) return undefined;
  const base = config.RIPCORD_PUBLIC_URL.replace(/\/+$/, '');
  return {
    client: {
      issuer: config.OIDC_ISSUER,
      clientId: config.OIDC_CLIENT_ID,
      clientSecret: config.OIDC_CLIENT_SECRET,
      scopes: config.OIDC_SCOPES,
      redirectUri: `${base}${CALLBACK_PATH}`,
      postLogoutRedirectUri: `${base}/`,
    },
    providerName: config.OIDC_PROVIDER_NAME,
    groupsClaim: config.OIDC_GROUPS_CLAIM === 'none' ? null : config.OIDC_GROUPS_CLAIM,
    rules: config.OIDC_ROLE_MAPPING,
    defaultRole: config.OIDC_DEFAULT_ROLE,
    allowedEmailDomains: config.OIDC_ALLOWED_EMAIL_DOMAINS,
  };
}
