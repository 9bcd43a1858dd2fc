import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

/**
 * A real, certified OpenID provider (panva's oidc-provider) for the single sign-on tests, on
 * loopback. Its development sign-in page takes any login name (and any password); the claims of a
 * login are whatever the test put in `accounts` under that name, read at every sign-in, so a test
 * changes someone's groups by changing the map.
 */
export interface TestAccount {
  email: string;
  name: string;
  groups: string[];
  email_verified?: boolean;
}

export interface TestProvider {
  issuer: string;
  accounts: Map<string, TestAccount>;
  close(): Promise<void>;
}

export const CLIENT_ID = 'ripcord-test';
export const CLIENT_SECRET = 'ripcord-test-client-secret';

/** A free loopback port, to tell the provider and Ripcord each other's URL before either listens. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts the provider with Ripcord's client registered for each of `ripcordUrls` (callback and post-logout URIs). */
export async function startOidcProvider(...ripcordUrls: string[]): Promise<TestProvider> {
  const accounts = new Map<string, TestAccount>();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: ripcordUrls.map((url) => `${url}/api/v1/sso/callback`),
      post_logout_redirect_uris: ripcordUrls.map((url) => `${url}/`),
      token_endpoint_auth_method: 'client_secret_post',
    }],
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    pkce: { required: () => true },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    async findAccount(_ctx: KoaContextWithOIDC, id: string) {
      return {
        accountId: id,
        async claims() {
          const account = accounts.get(id);
          return account ? { sub: id, email_verified: true, ...account } : { sub: id };
        },
      };
    },
    // Ripcord is a first-party client: no consent page.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
  });
  // The development pages are fine for tests; its warnings about them are not news here.
  provider.on('server_error', (_ctx: unknown, error: Error) => console.error('oidc-provider:', error));
  server.on('request', provider.callback());
  return {
    issuer,
    accounts,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
