import type { AuthEvents } from '../auth/auth-events.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Database } from '../connections/database.js';
import { ssoCookies, type SsoCookies } from './cookies.js';
import { createOidcClient } from './oidc-client.js';
import { sessionSettings, ssoSettings } from './settings.js';
import { createSsoService, type SsoService } from './sso-service.js';

/** Single sign-on as an API process runs it: the service (sign-in only with OIDC_ISSUER; sessions always) and its cookies. */
export function createSsoRuntime(config: Config, deps: { db: Database; authEvents?: AuthEvents; logger: Logger }): { service: SsoService; cookies: SsoCookies } {
  const sessions = sessionSettings(config);
  const settings = ssoSettings(config);
  return {
    service: createSsoService({ ...deps, sessions, sso: settings && { settings, client: createOidcClient(settings.client) } }),
    cookies: ssoCookies(sessions),
  };
}
