import { Router, type Request, type Response } from 'express';
import { AppError } from '../../src/errors.js';
import type { SsoCookies } from '../../src/sso/cookies.js';
import { returnToQuerySchema, ssoInfoSchema, ssoLogoutSchema, ssoSessionSchema } from '../../src/sso/protocol.js';
import type { SsoService } from '../../src/sso/sso-service.js';
import { principalOf, sessionSecretOf } from '../auth.js';
import { defineRoute, PUBLIC } from '../route-docs.js';
import { parseInput } from '../validation.js';

const LOGIN_PATH = '/api/v1/sso/login';
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const originOf = (req: Request) => ({ ipAddress: req.ip ?? null, userAgent: req.get('user-agent') ?? null });

/**
 * A browser lands on these routes, not a script: a failure is a small page with its status, its reason
 * (naming the fields at fault) and a way back. A client that prefers JSON gets the usual JSON error.
 */
function failurePage(req: Request, res: Response, error: unknown): void {
  if (!(error instanceof AppError) || error.status >= 500 || req.accepts(['json', 'html']) !== 'html') throw error;
  const fields = Array.isArray(error.details)
    ? (error.details as { path?: unknown; message?: unknown }[]).map((d) => `<li>${escapeHtml(String(d.path))}: ${escapeHtml(String(d.message))}</li>`).join('')
    : '';
  res.status(error.status).type('html').set('Cache-Control', 'no-store')
    .send(`<!doctype html><meta charset="utf-8"><title>Sign-in failed</title><h1>Sign-in failed</h1><p>${escapeHtml(error.message)}</p>${fields ? `<ul>${fields}</ul>` : ''}<p><a href="/">Back to Ripcord</a></p>`);
}

/** The statuses a browser route answers with an HTML page (documented without a JSON body). */
const pageErrors = (statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, { description: 'an HTML page saying why the sign-in failed' }]));

/** Single sign-on routes a browser reaches without a session: what the sign-in screen shows, the start of a sign-in and its callback. */
export function createSsoPublicRouter(sso: SsoService, cookies: SsoCookies): Router {
  const router = Router();

  defineRoute(router, '', {
    method: 'get', path: '/api/v1/sso', tag: 'Single sign-on', summary: 'Whether sign-in with the identity provider is on, and whether this browser is signed in', auth: PUBLIC,
    responses: { 200: { description: 'for the sign-in screen', schema: ssoInfoSchema } }, errors: [],
  }, async (req, res) => {
    const info = sso.info();
    const secret = cookies.read(req.get('cookie'), cookies.sessionName);
    const signedIn = secret ? (await sso.authenticate(secret)) !== null : false;
    res.set('Cache-Control', 'no-store').json({ ...info, login_url: info.enabled ? LOGIN_PATH : null, signed_in: signedIn });
  });

  defineRoute(router, '', {
    method: 'get', path: LOGIN_PATH, tag: 'Single sign-on', summary: 'Start a sign-in: redirects to the identity provider (Authorization Code with PKCE)',
    auth: PUBLIC, query: returnToQuerySchema,
    responses: { 302: { description: "to the identity provider's sign-in, with a short-lived login-state cookie" }, ...pageErrors([400, 404]) }, errors: [503],
  }, async (req, res) => {
    try {
      const { return_to: returnTo } = parseInput(returnToQuerySchema, req.query, 'query');
      const { url, loginState } = await sso.beginLogin(returnTo);
      res.set('Cache-Control', 'no-store').append('Set-Cookie', cookies.login(loginState)).redirect(302, url);
    } catch (error) {
      failurePage(req, res, error);
    }
  });

  defineRoute(router, '', {
    method: 'get', path: '/api/v1/sso/callback', tag: 'Single sign-on', summary: "The identity provider's redirect back: opens a session",
    auth: PUBLIC,
    responses: { 303: { description: 'to the page the sign-in started from, with the session cookie' }, ...pageErrors([400, 403, 404, 409]) }, errors: [503],
  }, async (req, res) => {
    try {
      const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
      if (query.length > 8192) throw new AppError(400, 'VALIDATION_FAILED', 'The callback query is too long');
      const session = await sso.completeLogin(query, cookies.read(req.get('cookie'), cookies.loginName), originOf(req));
      res.set('Cache-Control', 'no-store')
        .append('Set-Cookie', cookies.clearLogin())
        .append('Set-Cookie', cookies.session(session.secret, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000)))
        .redirect(303, session.returnTo);
    } catch (error) {
      res.append('Set-Cookie', cookies.clearLogin());
      failurePage(req, res, error);
    }
  });

  return router;
}

/** Single sign-on routes of a signed-in session (mounted behind authentication): the session itself and sign-out. */
export function createSsoSessionRouter(sso: SsoService, cookies: SsoCookies): Router {
  const router = Router();
  const MOUNT = '/api/v1';
  const SESSION_ONLY = 'a sign-in session (cookie); writes need X-CSRF-Token';

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/sso/session', tag: 'Single sign-on', summary: 'The signed-in user and the CSRF token of this session', auth: SESSION_ONLY,
    responses: { 200: { description: 'the session', schema: ssoSessionSchema } }, errors: [401, 403],
  }, async (_req, res) => {
    res.json(await sso.session(principalOf(res), sessionSecretOf(res)));
  });

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/sso/logout', tag: 'Single sign-on', summary: "Sign out: ends the session; answers the identity provider's logout URL if it has one",
    auth: SESSION_ONLY, responses: { 200: { description: 'signed out', schema: ssoLogoutSchema } }, errors: [401, 403],
  }, async (req, res) => {
    const { logoutUrl } = await sso.logout(principalOf(res), sessionSecretOf(res), originOf(req));
    res.append('Set-Cookie', cookies.clearSession()).json({ logout_url: logoutUrl });
  });

  return router;
}
