import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN, startStack, uniqueKey, type Stack } from '../integration/harness.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/ui/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A page that records console errors and uncaught exceptions, so the test can assert there were none. */
async function openPage(browser: Browser, errors: string[], viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`${page.url()}: uncaught ${error.message}`));
  return { context, page };
}

async function signIn(page: Page, url: string, token: string) {
  await page.goto(url);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('role').waitFor();
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });

describe('admin UI in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  const errors: string[] = [];
  const key = uniqueKey('e2e-checkout');
  let viewerToken: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startStack();
    const viewer = await stack.request('POST', '/api/v1/users', { body: { email: `${uniqueKey('viewer')}@example.com`, name: 'Vera Viewer', role: 'viewer' } });
    expect(viewer.status).toBe(201);
    const token = await stack.request('POST', '/api/v1/tokens', { body: { name: 'viewer browser', kind: 'admin', user_id: viewer.body.id } });
    expect(token.status).toBe(201);
    viewerToken = token.body.token;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('serves the UI at / and deep links, and never shadows the API', async () => {
    const index = await fetch(`${stack.api.url}/flags/anything/production`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<div id="root">');
    expect((await fetch(`${stack.api.url}/healthz`)).headers.get('content-type')).toContain('json');
    expect((await stack.request('GET', '/api/v1/nope')).status).toBe(404);
    expect((await fetch(`${stack.api.url}/openapi.json`)).headers.get('content-type')).toContain('json');
  });

  it('signs in, creates a flag, adds a rule, explains, rolls out, pauses, kills, and finds the kill in the audit log', async () => {
    const { context, page } = await openPage(browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-admin');
    });
    await page.goto(stack.api.url);
    await shot(page, '01-sign-in');
    await signIn(page, stack.api.url, ADMIN_TOKEN);
    await expect(page.getByTestId('role').textContent()).resolves.toBe('admin');

    // Create a flag.
    await page.getByRole('button', { name: 'New flag' }).click();
    const form = page.getByRole('form', { name: 'New flag' });
    await form.getByLabel('Key').fill(key);
    await form.getByLabel('Name').fill('Checkout v2');
    await form.getByLabel('Tags').fill('payments, e2e');
    await form.getByRole('button', { name: 'Create flag' }).click();
    await page.getByRole('heading', { name: key }).waitFor();

    // Production: on, with a rule that turns it off for NL.
    await page.getByRole('tab', { name: /production/ }).click();
    await page.getByLabel('Enabled').selectOption('true');
    await page.getByRole('button', { name: 'Add rule' }).click();
    const rule = page.locator('fieldset[data-rule]').first();
    await rule.getByLabel('Id', { exact: true }).fill('no-nl');
    await rule.getByLabel('Field', { exact: true }).fill('country');
    await rule.getByLabel('Value', { exact: true }).fill('NL');
    await rule.getByLabel('Action').selectOption('disable');
    await page.getByRole('button', { name: 'Review changes' }).click();
    await expect(page.getByLabel('Diff of the production config').textContent()).resolves.toContain('"country"');
    await shot(page, '02-flag-diff');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText(/Saved as version \d+/).waitFor();

    // Evaluate as… a Dutch user: the rule matches.
    await page.getByLabel('Context (JSON)').fill('{"targetingKey": "user-1", "country": "NL"}');
    await page.getByRole('button', { name: 'Evaluate' }).click();
    const trace = page.getByTestId('explain-trace');
    await trace.waitFor();
    expect(await page.getByTestId('explain-result').textContent()).toContain('TARGETING_MATCH');
    expect(await trace.textContent()).toContain('no-nl');
    await shot(page, '03-flag-explain');

    // A gradual rollout, then paused.
    const rollouts = page.getByRole('form', { name: 'Start a rollout in production' });
    await rollouts.getByRole('button', { name: 'Start rollout' }).click();
    const current = page.getByTestId('rollout-current');
    await current.waitFor({ timeout: 20_000 });
    await current.getByRole('button', { name: 'Pause' }).click();
    await page.locator('[data-testid="rollout-current"][data-status="paused"]').waitFor({ timeout: 20_000 });
    await shot(page, '04-rollout-paused');

    // The kill switch: reason and the typed key.
    await page.getByRole('button', { name: 'Pull kill switch in production' }).click();
    const kill = page.getByRole('form', { name: `Pull the kill switch of ${key} in production` });
    const killButton = kill.getByRole('button', { name: `Kill ${key} in production` });
    await kill.getByLabel(/Reason/).fill('payment errors spiking');
    expect(await killButton.isDisabled()).toBe(true);
    await kill.getByLabel(/to confirm/).fill(key);
    await killButton.click();
    await page.getByTestId('killed-banner').waitFor();
    const killPanel = page.getByRole('region', { name: 'Kill switch in production' });
    expect(await killPanel.getByTestId('workflow-id').textContent()).toMatch(new RegExp(`^killswitch:production:${key}:`));
    expect(await killPanel.getByRole('link', { name: 'open in Temporal UI' }).getAttribute('href')).toContain('/workflows/');
    await shot(page, '05-flag-killed');

    // OFREP serves the off value.
    const ofrep = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { headers: { 'x-environment': 'production' }, body: { context: { targetingKey: 'user-2' } } });
    expect(ofrep.body).toMatchObject({ value: false, reason: 'DISABLED' });

    // The dashboard shows it killed, and among the recent kills.
    await page.getByRole('link', { name: '← Flags' }).click();
    await page.locator(`tr[data-flag="${key}"] td[data-env="production"][data-state="killed"]`).waitFor();
    await page.getByRole('region', { name: 'Recent kills' }).getByText(key).first().waitFor();
    await shot(page, '06-dashboard');

    // The audit log has the kill, with its diff, and the chain verifies.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Flag').fill(key);
    await page.getByRole('button', { name: 'Filter' }).click();
    const event = page.locator(`li[data-action="kill_switch.activated"][data-resource="${key}"]`);
    await event.waitFor();
    await event.locator('summary').click();
    expect(await event.textContent()).toContain('payment errors spiking');
    await page.getByText(/chain verified/).waitFor();
    await shot(page, '07-audit');

    // The other pages render; a token's secret is shown once.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Segments' }).click();
    await page.getByRole('heading', { name: 'Segments' }).waitFor();
    await shot(page, '08-segments');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tokens' }).click();
    const tokenForm = page.getByRole('form', { name: 'New token' });
    await tokenForm.getByLabel('Name').fill('checkout service');
    await tokenForm.getByRole('button', { name: 'Create token' }).click();
    expect(await page.getByTestId('token-secret').textContent()).toMatch(/rc_server_/);
    await shot(page, '09-tokens');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await page.getByText('Vera Viewer').waitFor();
    await shot(page, '10-users');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('form', { name: 'New webhook' }).waitFor();
    await shot(page, '14-webhooks');
    await context.close();

    // Phone width.
    const phone = await openPage(browser, errors, { width: 390, height: 844 });
    await signIn(phone.page, stack.api.url, ADMIN_TOKEN);
    await phone.page.locator(`tr[data-flag="${key}"]`).waitFor();
    await phone.page.locator(`[data-rollout="${key}:production"]`).waitFor();
    await shot(phone.page, '11-dashboard-phone');
    await phone.page.goto(`${stack.api.url}/flags/${key}/production`);
    await phone.page.getByTestId('killed-banner').waitFor();
    await shot(phone.page, '12-flag-phone');
    await phone.context.close();

    expect(errors).toEqual([]);
  });

  it('shows a viewer no usable write controls, with the reason', async () => {
    const { context, page } = await openPage(browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-viewer');
    });
    await signIn(page, stack.api.url, viewerToken);
    await expect(page.getByTestId('role').textContent()).resolves.toBe('viewer');
    await page.locator(`tr[data-flag="${key}"]`).waitFor();
    expect(await page.locator('button[data-write]:not([disabled])').count()).toBe(0);
    await page.goto(`${stack.api.url}/flags/${key}/production`);
    await page.getByTestId('killed-banner').waitFor();
    await page.getByText(/Read-only: role 'viewer'/).waitFor();
    expect(await page.locator('button[data-write]:not([disabled])').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Restore/ }).isDisabled()).toBe(true);
    await shot(page, '13-viewer-flag');
    await context.close();
    expect(errors).toEqual([]);
  });
});
