import { describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN, uniqueKey } from '../integration/harness.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

const TABS = ['Overview', 'Targeting & variants', 'Rollouts', 'Insights', 'History', 'Settings'];

/**
 * The flag page's tabs in headless Chromium: the address keeps the tab (reload, back), the flag opens on
 * the environment last used, History is the flag's own audit trail; the dashboard's search and the audit
 * log's filters apply as you type ("kill" finds kill events); "/" jumps to the search. Every tab at 1280
 * and 390 px without sideways scroll.
 */
describe('admin UI: flag page tabs, history and live search', () => {
  const suite = browserSuite();

  it('keeps the tab in the address, opens on the last environment, shows the flag’s history, and filters as you type', async () => {
    const errors: string[] = [];
    const key = uniqueKey('e2e-tabs');
    const other = uniqueKey('e2e-tabs-other');
    for (const k of [key, other]) expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key: k, name: `Tabs ${k}`, type: 'boolean' } })).status).toBe(201);
    expect((await suite.stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { body: { enabled: true, value: true, off_value: false, rules: [] } })).status).toBe(200);
    const kill = await suite.stack.request('POST', `/api/v1/flags/${key}/environments/staging/kill-switch`, { body: { reason: 'tabs test: errors' } });
    expect(kill.status).toBeLessThan(300);

    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-flag-tabs');
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);

    // Live search: the table narrows as the key is typed, without Enter, and the address follows.
    await page.keyboard.press('/');
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('f-q');
    await page.keyboard.type(key, { delay: 15 });
    await page.locator(`tr[data-flag="${key}"]`).waitFor();
    await expect.poll(() => page.locator('tr[data-flag]').count()).toBe(1);
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe(key);
    expect(await page.getByLabel('Search').inputValue()).toBe(key);

    // The flag opens on Overview in production (the default) …
    await page.locator(`tr[data-flag="${key}"] th a`).first().click();
    await page.getByRole('tab', { name: 'Overview', selected: true }).waitFor();
    await page.getByRole('tab', { name: /^production/, selected: true }).waitFor();
    // … a tab is in the address and survives a reload; the arrow keys move along the tabs.
    await page.getByRole('tab', { name: 'History' }).click();
    expect(new URL(page.url()).search).toBe('?tab=history');
    await page.reload();
    await page.getByRole('tab', { name: 'History', selected: true }).waitFor();
    await page.getByRole('tab', { name: 'History' }).focus();
    await page.keyboard.press('ArrowRight');
    await page.getByRole('tab', { name: 'Settings', selected: true }).waitFor();
    expect(await page.evaluate<string | undefined>('document.activeElement?.textContent')).toBe('Settings');
    await page.getByRole('heading', { name: 'Details' }).waitFor();

    // Choosing staging keeps the tab; the next flag opened without an environment opens in staging.
    await page.getByRole('tab', { name: /^staging/ }).click();
    await page.getByRole('tab', { name: 'History' }).click();
    expect(new URL(page.url()).pathname).toBe(`/flags/${key}/staging`);
    const history = page.getByTestId('flag-history');
    // The flag's own trail: the kill (with its reason), the config and the creation; nothing of the other flag.
    const killed = history.locator('li[data-action="kill_switch.activated"]');
    await killed.waitFor();
    expect(await killed.textContent()).toContain('tabs test: errors');
    expect(await history.locator('li[data-action="flag.config.updated"]').count()).toBeGreaterThanOrEqual(1);
    expect(await history.locator('li[data-action="flag.created"]').count()).toBe(1);
    expect(await history.locator(`li[data-resource="${other}"]`).count()).toBe(0);
    await shot(page, '70-flag-history');
    await history.getByLabel('Environment').selectOption('production');
    await killed.waitFor({ state: 'detached' });
    await page.goto(`${suite.stack.api.url}/flags/${other}`);
    await page.getByRole('tab', { name: /^staging/, selected: true }).waitFor();
    expect(await page.locator('[role="tabpanel"]').getAttribute('data-environment')).toBe('staging');

    // Every tab fits at 1280 and 390 px.
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 844 });
      await page.goto(`${suite.stack.api.url}/flags/${key}/staging`);
      for (const tab of TABS) {
        await page.getByRole('tab', { name: tab }).click();
        await page.locator('[role="tabpanel"]').and(page.locator(`[aria-labelledby="${await page.getByRole('tab', { name: tab }).getAttribute('id')}"]`)).waitFor();
        await page.waitForLoadState('networkidle').catch(() => undefined);
        expect(await sidewaysOverflow(page), `${tab} at ${width} px scrolls sideways`).toBeLessThanOrEqual(0);
        await shot(page, `71-flag-${tab.split(' ')[0]!.toLowerCase()}-${width}`);
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });

    // The audit log filters as you type; a word finds the actions that contain it ("kill": activated and deactivated).
    expect((await suite.stack.request('DELETE', `/api/v1/flags/${key}/environments/staging/kill-switch`, { body: { reason: 'tabs test: fixed' } })).status).toBeLessThan(300);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Flag').fill(key);
    await page.getByLabel('Action').fill('kill');
    const events = page.locator('ol.events > li');
    const actions = async () => (await Promise.all((await events.all()).map((item) => item.getAttribute('data-action')))).sort().join();
    await expect.poll(actions, { timeout: 10_000 })
      .toBe('kill_switch.activated,kill_switch.deactivated');
    // "kill switch" (with a space) means the same.
    await page.getByLabel('Action').fill('kill switch');
    await expect.poll(() => events.count()).toBe(2);
    await shot(page, '72-audit-kill-word');
    await context.close();
    expect(unexpected(errors)).toEqual([]);
  }, 120_000);
});
