import * as oidc from 'openid-client';
import { ServiceUnavailableError } from '../errors.js';
import { isLoopbackUrl } from './schemas.js';

/** How Ripcord talks to the identity provider (OpenID Connect, Authorization Code with PKCE), through openid-client. */
export interface OidcClientSettings {
  issuer: string;
  clientId: string;
  /** Absent: a public client (PKCE only, no client authentication). */
  clientSecret?: string;
  scopes: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
}

/** What the browser must carry from the start of a sign-in to its callback (in a short-lived httpOnly cookie). */
export interface LoginChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** A completed code exchange: the claims of the ID token merged with the userinfo answer's, and the ID token for logout. */
export interface CompletedLogin {
  claims: Record<string, unknown>;
  idToken: string | undefined;
}

export interface OidcClient {
  /** The identity provider's authorization URL for a new sign-in, and the checks to keep for its callback. */
  begin(): Promise<{ url: URL; checks: LoginChecks }>;
  /** Exchanges the code of a callback URL (state, nonce and PKCE checked); throws openid-client's errors when something does not check out. */
  complete(callbackUrl: URL, checks: LoginChecks): Promise<CompletedLogin>;
  /** The identity provider's logout URL (RP-initiated logout), or null when it offers none. */
  logoutUrl(idToken: string | null): Promise<URL | null>;
}

/** How long a failed discovery is remembered before the next sign-in tries again. */
const DISCOVERY_RETRY_MS = 5_000;

export function createOidcClient(settings: OidcClientSettings): OidcClient {
  let discovered: Promise<oidc.Configuration> | undefined;
  let failedAt = 0;

  /** Discovery happens at the first sign-in (and again after a failure), so an unreachable provider never stops the API from starting. */
  function configuration(): Promise<oidc.Configuration> {
    if (!discovered || (failedAt && Date.now() - failedAt > DISCOVERY_RETRY_MS)) {
      failedAt = 0;
      const issuer = new URL(settings.issuer);
      const auth = settings.clientSecret ? oidc.ClientSecretPost(settings.clientSecret) : oidc.None();
      discovered = oidc.discovery(issuer, settings.clientId, settings.clientSecret, auth, {
        // The schema admits http for loopback issuers only (a provider on this machine).
        execute: isLoopbackUrl(issuer) && issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
        timeout: 10,
      });
      discovered.catch(() => (failedAt = Date.now()));
    }
    return discovered.catch((error: unknown) => {
      throw new ServiceUnavailableError(`The identity provider at ${settings.issuer} could not be reached for discovery (${(error as Error).message}); try again shortly`);
    });
  }

  return {
    async begin() {
      const config = await configuration();
      const checks = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: settings.redirectUri,
        scope: settings.scopes,
        state: checks.state,
        nonce: checks.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url, checks };
    },

    async complete(callbackUrl, checks) {
      const config = await configuration();
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state, expectedNonce: checks.nonce, idTokenExpected: true,
      });
      const idClaims = tokens.claims()!;
      // Providers differ in what the ID token carries (groups and email are often only in userinfo).
      const userinfo = config.serverMetadata().userinfo_endpoint
        ? await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub)
        : {};
      return { claims: { ...userinfo, ...idClaims, ...pickDefined(userinfo, ['email', 'email_verified', 'name']) }, idToken: tokens.id_token };
    },

    async logoutUrl(idToken) {
      const config = await configuration();
      if (!config.serverMetadata().end_session_endpoint) return null;
      return oidc.buildEndSessionUrl(config, {
        client_id: settings.clientId,
        post_logout_redirect_uri: settings.postLogoutRedirectUri,
        ...(idToken ? { id_token_hint: idToken } : {}),
      });
    },
  };
}

/** The ID token's claims win (they are signed), except the profile fields userinfo may have fresher. */
function pickDefined(source: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => source[key] !== undefined).map((key) => [key, source[key]]));
}
