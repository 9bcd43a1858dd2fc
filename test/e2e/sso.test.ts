import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startApiServer, type ApiServer } from '../../src/main/api-server.js';
import { auditEvents, createFlag } from '../integration/governance-helpers.js';
import { eventually, startStack, type Stack } from '../integration/harness.js';
import { CLIENT_ID, CLIENT_SECRET, freePort, startOidcProvider, type TestProvider } from '../integration/oidc-provider.js';
import { ARTIFACTS, launchChromium, openPage, shot } from './browser.js';

/**
 * Single sign-on end to end: Ripcord against a real OpenID provider (oidc-provider) in headless
 * Chromium. Sign-in through the provider's own pages, the role its groups map to, losing a right by
 * leaving a group, CSRF refusals (cross-site and same-site), idle and absolute expiry, deactivation
 * across API processes, and sign-out at Ripcord and at the provider.
 */

const PROVIDER = 'Test IdP';
const GROUPS = [
  { group: 'ripcord-admins', role: 'admin' },
  { group: 'sre-oncall', role: 'emergency_responder' },
  { group: 'payments', grants: [{ resource: 'flag', action: 'kill_switch', conditions: { environments: ['production'], flag_tags: ['payments'] } }] },
];

let stack: Stack;
let idp: TestProvider;
let browser: Browser;
let ripcord: string;
/** A second API process whose roles are managed in Ripcord (OIDC_GROUPS_CLAIM=none), on a port of its own. */
let managedPort: number;
let managedUrl: string;
let flag: string;
const errors: string[] = [];

/** Starts a sign-in from Ripcord's sign-in screen and signs in at the provider as `login` (any password). */
async function signInWithProvider(page: Page, login: string, from = '/', base = ripcord) {
  await page.goto(`${base}${from}`);
  await page.getByRole('link', { name: `Sign in with ${PROVIDER}` }).click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

/** A request from the page, as the UI's own script would make it (same origin, the session cookie goes along). */
function fromPage(page: Page, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  return page.evaluate(async ({ method, path, headers, body }) => {
    const response = await fetch(path, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }, { method, path, headers, body });
}

async function csrfOf(page: Page): Promise<string> {
  const session = await fromPage(page, 'GET', '/api/v1/sso/session');
  expect(session.status).toBe(200);
  return session.body.csrf_token;
}

async function sessionCookie(context: BrowserContext): Promise<string> {
  const cookie = (await context.cookies(ripcord)).find((c) => c.name === 'ripcord_session');
  expect(cookie, 'the session cookie').toBeDefined();
  return cookie!.value;
}

async function userByEmail(email: string): Promise<{ id: string; role: string }> {
  const { rows } = await stack.db.query('SELECT id, role FROM users WHERE email = $1', [email]);
  expect(rows).toHaveLength(1);
  return rows[0];
}

/** A page that posts a form to Ripcord's kill switch the moment it loads: a CSRF attack, served from `host`. */
async function attackerSite(host: string): Promise<{ server: Server; url: string }> {
  const target = `${ripcord}/api/v1/flags/${flag}/environments/production/kill-switch`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end(
      `<!doctype html><form method="post" action="${target}" enctype="text/plain"><input name='{"reason":"csrf","x":"' value='"}'></form><script>document.forms[0].submit()</script>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://${host}:${(server.address() as AddressInfo).port}/` };
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  ripcord = `http://127.0.0.1:${port}`;
  managedPort = await freePort();
  managedUrl = `http://127.0.0.1:${managedPort}`;
  idp = await startOidcProvider(ripcord, managedUrl);
  stack = await startStack({
    PORT: String(port),
    RIPCORD_PUBLIC_URL: ripcord,
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    OIDC_SCOPES: 'openid email profile groups',
    OIDC_ROLE_MAPPING: JSON.stringify(GROUPS),
    OIDC_DEFAULT_ROLE: 'viewer',
    OIDC_ALLOWED_EMAIL_DOMAINS: 'example.com',
    OIDC_PROVIDER_NAME: PROVIDER,
    SESSION_IDLE_TIMEOUT_SECONDS: '600',
    SESSION_ABSOLUTE_TIMEOUT_SECONDS: '3600',
  });
  flag = await createFlag(stack, 'sso-checkout', ['payments']);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await idp?.close();
});

describe('single sign-on with a real OpenID provider, in Chromium', () => {
  it('signs in at the provider and back to the page it started from, with the role the groups claim maps to', async () => {
    idp.accounts.set('alice', { email: 'alice@example.com', name: 'Alice Oncall', groups: ['sre-oncall', 'unrelated'] });
    const { context, page } = await openPage(browser, errors);
    onTestFailed(async () => void (await shot(page, 'sso-failure-sign-in')));
    await signInWithProvider(page, 'alice', `/flags/${flag}`);
    await page.getByTestId('role').waitFor();
    expect(new URL(page.url()).pathname).toBe(`/flags/${flag}`);
    expect(await page.getByTestId('role').textContent()).toBe('emergency_responder');
    expect(await page.getByTestId('who').textContent()).toContain('Alice Oncall');
    await shot(page, 'sso-signed-in');

    // The cookie: httpOnly, SameSite=Lax, not Secure only because this is plain http on loopback.
    const cookie = (await context.cookies(ripcord)).find((c) => c.name === 'ripcord_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' });
    expect(await page.evaluate('document.cookie')).not.toContain('ripcord_session');
    // Stored as a digest only: the secret itself is nowhere in the table.
    const { rows } = await stack.db.query('SELECT secret_hash, id_token_sealed FROM sso_sessions WHERE secret_hash = $1', [createHash('sha256').update(cookie.value).digest('hex')]);
    expect(rows).toHaveLength(1);
    expect(rows[0].id_token_sealed).toMatch(/^enc:v1:/);
    const stored = await stack.db.query("SELECT count(*)::int AS n FROM sso_sessions WHERE secret_hash = $1 OR id_token_sealed LIKE '%' || $1 || '%'", [cookie.value]);
    expect(stored.rows[0].n).toBe(0);

    const alice = await userByEmail('alice@example.com');
    expect(alice.role).toBe('emergency_responder');
    const [signedIn] = await auditEvents(stack, { action: 'user.signed_in', resource_id: alice.id });
    expect(signedIn).toMatchObject({ user_id: alice.id, metadata: expect.objectContaining({ actorName: 'Alice Oncall', method: 'oidc', created: true, groups: ['sre-oncall'] }) });
    await context.close();
  });

  it('refuses a cookie-authenticated write without its CSRF token (same site and cross site), and takes it with the token', async () => {
    const { context, page } = await openPage(browser, errors);
    onTestFailed(async () => void (await shot(page, 'sso-failure-csrf')));
    await signInWithProvider(page, 'alice');
    await page.getByTestId('role').waitFor();
    const killPath = `/api/v1/flags/${flag}/environments/production/kill-switch`;

    const missing = await fromPage(page, 'POST', killPath, {}, { reason: 'no token' });
    expect(missing).toMatchObject({ status: 403, body: { error: { code: 'CSRF_TOKEN_INVALID' } } });
    const wrong = await fromPage(page, 'POST', killPath, { 'x-csrf-token': 'A'.repeat(43) }, { reason: 'wrong token' });
    expect(wrong.status).toBe(403);

    // Another site's form: SameSite=Lax keeps the cookie off a cross-site POST, so it is not even signed in.
    const crossSite = await attackerSite('localhost');
    const sameSite = await attackerSite('127.0.0.1');
    try {
      const [crossAnswer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith(killPath)), page.goto(crossSite.url)]);
      expect(crossAnswer.status()).toBe(401);
      // Another origin of the same site gets the cookie along, and the missing CSRF token refuses it.
      const [sameAnswer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith(killPath)), page.goto(sameSite.url)]);
      expect(sameAnswer.status()).toBe(403);
    } finally {
      crossSite.server.close();
      sameSite.server.close();
    }
    expect((await stack.request('GET', killPath)).body).toMatchObject({ kill_switch: { enabled: false } });

    await page.goto(ripcord);
    await page.getByTestId('role').waitFor();
    const csrf = await csrfOf(page);
    const killed = await fromPage(page, 'POST', killPath, { 'x-csrf-token': csrf }, { reason: 'sso responder' });
    expect(killed.status, JSON.stringify(killed.body)).toBeLessThan(300);
    expect((await fromPage(page, 'DELETE', killPath, { 'x-csrf-token': csrf })).status).toBe(200);
    const aliceId = (await userByEmail('alice@example.com')).id;
    await eventually(async () => (await auditEvents(stack, { action: 'kill_switch.activated' })).some((e) => e.user_id === aliceId), 'the kill audited as Alice');
    await context.close();
  });

  it('signs out at Ripcord and at the provider; removed from the on-call group, the next sign-in has no kill right', async () => {
    const { context, page } = await openPage(browser, errors);
    onTestFailed(async () => void (await shot(page, 'sso-failure-sign-out')));
    await signInWithProvider(page, 'alice');
    await page.getByTestId('role').waitFor();
    const cookie = await sessionCookie(context);
    const alice = await userByEmail('alice@example.com');

    await page.getByRole('button', { name: 'Sign out' }).click();
    // RP-initiated logout: the provider asks, then sends the browser back to Ripcord's sign-in screen.
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.getByRole('link', { name: `Sign in with ${PROVIDER}` }).waitFor();
    expect(page.url()).toBe(`${ripcord}/`);
    expect((await context.cookies(ripcord)).some((c) => c.name === 'ripcord_session')).toBe(false);
    const replayed = await fetch(`${ripcord}/api/v1/sso/session`, { headers: { cookie: `ripcord_session=${cookie}` } });
    expect(replayed.status).toBe(401);
    const [signedOut] = await auditEvents(stack, { action: 'user.signed_out', resource_id: alice.id });
    expect(signedOut).toMatchObject({ user_id: alice.id, metadata: expect.objectContaining({ actorName: 'Alice Oncall' }) });

    // Off the on-call rota. The provider's session ended too, so it asks for the login again.
    idp.accounts.set('alice', { email: 'alice@example.com', name: 'Alice Oncall', groups: ['unrelated'] });
    await signInWithProvider(page, 'alice');
    await page.getByTestId('role').waitFor();
    expect(await page.getByTestId('role').textContent()).toBe('viewer');
    const refused = await fromPage(page, 'POST', `/api/v1/flags/${flag}/environments/production/kill-switch`, { 'x-csrf-token': await csrfOf(page) }, { reason: 'no longer on call' });
    expect(refused.status).toBe(403);
    const [again] = await auditEvents(stack, { action: 'user.signed_in', resource_id: alice.id });
    expect(again).toMatchObject({ old_value: expect.objectContaining({ role: 'emergency_responder' }), new_value: expect.objectContaining({ role: 'viewer' }) });

    // In the payments group: a grant, not a role; the kill switch of payments flags in production only.
    idp.accounts.set('alice', { email: 'alice@example.com', name: 'Alice Oncall', groups: ['payments'] });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await signInWithProvider(page, 'alice');
    await page.getByTestId('role').waitFor();
    const me = await fromPage(page, 'GET', '/api/v1/users/me');
    expect(me.body).toMatchObject({ role: 'viewer', grants: [{ resource: 'flag', action: 'kill_switch', conditions: { environments: ['production'], flag_tags: ['payments'] } }] });
    await context.close();
  });

  it('ends a session after its idle timeout and after its absolute timeout', async () => {
    const { context, page } = await openPage(browser, errors);
    onTestFailed(async () => void (await shot(page, 'sso-failure-expiry')));
    for (const expire of [
      "UPDATE sso_sessions SET last_seen_at = now() - interval '601 seconds' WHERE secret_hash = $1",
      "UPDATE sso_sessions SET expires_at = now() - interval '1 second' WHERE secret_hash = $1",
    ]) {
      await signInWithProvider(page, 'alice');
      await page.getByTestId('role').waitFor();
      const digest = createHash('sha256').update(await sessionCookie(context)).digest('hex');
      expect((await fromPage(page, 'GET', '/api/v1/users/me')).status).toBe(200);
      // The clock moves on (in the database, which is what the check reads).
      expect((await stack.db.query(expire, [digest])).rowCount).toBe(1);
      expect((await fromPage(page, 'GET', '/api/v1/users/me')).status).toBe(401);
      await page.reload();
      await page.getByRole('link', { name: `Sign in with ${PROVIDER}` }).waitFor();
      // Signing in again at the provider (whose own session lives on) opens a new session.
      await page.getByRole('link', { name: `Sign in with ${PROVIDER}` }).click();
      await page.getByTestId('role').waitFor();
      await context.clearCookies();
    }
    await context.close();
  });

  it('deactivation ends the sessions at once in every API process, and refuses the next sign-in', async () => {
    idp.accounts.set('dave', { email: 'dave@example.com', name: 'Dave Admin', groups: ['ripcord-admins'] });
    const pageErrors: string[] = [];
    const { context, page } = await openPage(browser, pageErrors);
    onTestFailed(async () => void (await shot(page, 'sso-failure-deactivation')));
    await signInWithProvider(page, 'dave');
    await page.getByTestId('role').waitFor();
    expect(await page.getByTestId('role').textContent()).toBe('admin');
    const cookie = `ripcord_session=${await sessionCookie(context)}`;

    const other: ApiServer = await startApiServer({ ...stack.config, PORT: 0 }, createLogger('silent', 'test'));
    try {
      expect((await fetch(`${other.url}/api/v1/sso/session`, { headers: { cookie } })).status).toBe(200);
      const dave = await userByEmail('dave@example.com');
      expect((await stack.request('DELETE', `/api/v1/users/${dave.id}`)).status).toBe(200);
      for (const api of [other.url, ripcord]) expect((await fetch(`${api}/api/v1/sso/session`, { headers: { cookie } })).status, api).toBe(401);
    } finally {
      await other.close();
    }
    await page.reload();
    await page.getByRole('link', { name: `Sign in with ${PROVIDER}` }).click();
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor();
    expect(await page.textContent('body')).toContain('deactivated');
    // Deactivation also cut the page's live event stream (and the page's next request was a 401): nothing else went wrong.
    expect(pageErrors.filter((e) => e.startsWith(ripcord) && !/ERR_INCOMPLETE_CHUNKED_ENCODING|status of 40[13]/.test(e))).toEqual([]);
    await context.close();
  });

  it('refuses an email outside the allowed domains and a callback this browser did not start', async () => {
    idp.accounts.set('mallory', { email: 'mallory@elsewhere.test', name: 'Mallory', groups: ['ripcord-admins'] });
    const { context, page } = await openPage(browser, errors);
    await signInWithProvider(page, 'mallory');
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor();
    expect(await page.textContent('body')).toContain('@example.com');
    const [refusal] = await auditEvents(stack, { action: 'user.sign_in_refused' });
    expect(refusal).toMatchObject({ metadata: expect.objectContaining({ email: 'mallory@elsewhere.test' }) });
    expect((await stack.db.query("SELECT 1 FROM users WHERE email = 'mallory@elsewhere.test'")).rowCount).toBe(0);

    const stray = await fetch(`${ripcord}/api/v1/sso/callback?code=stolen&state=guessed`, { redirect: 'manual' });
    expect(stray.status).toBe(400);
    expect(await stray.text()).toContain('not started in this browser');
    await context.close();
  });

  it('with OIDC_GROUPS_CLAIM=none, roles are managed in Ripcord: a new user gets the default role, an admin\'s change outlives the next sign-in', async () => {
    idp.accounts.set('carol', { email: 'carol@example.com', name: 'Carol', groups: ['ripcord-admins'] });
    const managed = await startApiServer({ ...stack.config, PORT: managedPort, RIPCORD_PUBLIC_URL: managedUrl, OIDC_GROUPS_CLAIM: 'none' }, createLogger('silent', 'test'));
    const pageErrors: string[] = [];
    const { context, page } = await openPage(browser, pageErrors);
    onTestFailed(async () => void (await shot(page, 'sso-failure-managed-roles')));
    try {
      await signInWithProvider(page, 'carol', '/', managedUrl);
      await page.getByTestId('role').waitFor();
      // The groups claim is not read: not admin, the default role.
      expect(await page.getByTestId('role').textContent()).toBe('viewer');
      const carol = await userByEmail('carol@example.com');
      expect((await stack.request('PATCH', `/api/v1/users/${carol.id}`, { body: { role: 'editor' } })).status).toBe(200);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await signInWithProvider(page, 'carol', '/', managedUrl);
      await page.getByTestId('role').waitFor();
      expect(await page.getByTestId('role').textContent()).toBe('editor');
      // The role change closed Carol's live event stream (as any credential change does): nothing else went wrong.
      expect(pageErrors.filter((e) => e.startsWith(managedUrl) && !/ERR_INCOMPLETE_CHUNKED_ENCODING|status of 40[13]/.test(e))).toEqual([]);
    } finally {
      await context.close();
      await managed.close();
    }
  });

  it('had no script errors on Ripcord pages', () => {
    // The provider's development pages load a web font this sandbox cannot reach; 401s are the expiry test's.
    expect(errors.filter((e) => e.startsWith(ripcord) && !/status of 40[13]/.test(e))).toEqual([]);
  });
});
