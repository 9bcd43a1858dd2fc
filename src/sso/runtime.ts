import type { AuthEvents } from '../auth/auth-events.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Database } from '../connections/database.js';
import { ssoCookies, type SsoCookies } from './cookies.js';
import { createOidcClient } from './oidc-client.js';
import { sessionSettings, ssoSettings } from './settings.js';
import { slackEmailLinker, slackEmailLookup } from './slack-email-link.js';
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

/** The Slack linking by verified email, when SLACK_LINK_BY_VERIFIED_EMAIL is on and the bot has a token. */
export function slackEmailLinking(config: Config, deps: { db: Database; logger: Logger }) {
  if (config.SLACK_LINK_BY_VERIFIED_EMAIL !== 'on' || !config.SLACK_BOT_TOKEN) return undefined;
  return slackEmailLinker({ ...deps, lookup: slackEmailLookup({ botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL }) });
}
