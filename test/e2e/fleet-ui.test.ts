import { describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN } from '../integration/harness.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * The fleet view in headless Chromium: the SDK instances of an environment with the version each
 * holds, laggards first, and the environment chosen from the page.
 */
describe('admin UI: SDK instances', () => {
  const suite = browserSuite();

  it('lists an environment\'s instances, the one behind first, and switches environments', async () => {
    const errors: string[] = [];
    const report = (body: Record<string, unknown>) => suite.stack.request('POST', '/api/v1/instances/report', { body: { kind: 'node-local', environment: 'development', ...body } });
    // A change so that version 1 is behind what development serves.
    expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key: 'fleet-ui-flag', name: 'Fleet', type: 'boolean' } })).status).toBe(201);
    expect((await suite.stack.request('PUT', '/api/v1/flags/fleet-ui-flag/environments/development', { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
    const current = suite.stack.api.snapshot.version('development');
    expect(current).toBeGreaterThan(1);
    expect((await report({ id: 'current-checkout-1', app: 'checkout', app_version: '4.2.0', host: 'web-1', sdk_version: '0.1.0', version: current })).status).toBe(200);
    expect((await report({ id: 'stale-billing-1', app: 'billing', host: 'cron-7', sdk_version: '0.1.0', version: 1 })).status).toBe(200);
    expect((await report({ id: 'storefront-tab-1', kind: 'browser', app: 'storefront', host: 'shop.example', version: current })).status).toBe(200);

    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-fleet');
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'SDK instances' }).click();
    await page.getByLabel('Environment').selectOption('development');
    const rows = page.locator('[data-testid="fleet"] tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.first().getAttribute('data-instance')).toBe('stale-billing-1');
    await expect.poll(() => rows.first().locator('[data-label="state"]').textContent()).toBe(`behind by ${current - 1} version${current - 1 === 1 ? '' : 's'}`);
    expect(await page.getByTestId('fleet-summary').textContent()).toContain('3 instances: 1 behind');
    expect(await rows.nth(1).locator('[data-label="state"]').textContent()).toBe('current');
    expect(await page.locator('[data-instance="storefront-tab-1"] [data-label="kind"]').textContent()).toBe('Browser (React SDK)');
    expect(await page.locator('[data-instance="current-checkout-1"] th').textContent()).toContain('checkout 4.2.0');
    expect(page.url()).toMatch(/\/instances\/development$/);
    await shot(page, 'fleet');

    await page.getByLabel('Environment').selectOption('staging');
    await page.getByTestId('no-instances').waitFor();
    await page.setViewportSize({ width: 390, height: 800 });
    await page.getByLabel('Environment').selectOption('development');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await sidewaysOverflow(page)).toBeLessThanOrEqual(0);
    expect(unexpected(errors)).toEqual([]);
    await context.close();
  });
});
