import type { Page } from 'playwright-core';
import { describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN, eventually, uniqueKey } from '../integration/harness.js';
import { createUser } from '../integration/governance-helpers.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';
import { contrastViolations, pageBackground } from './contrast.js';

/**
 * The dark theme, in headless Chromium: it follows the system's preference (prefers-color-scheme) until
 * the user picks one in the top bar, which then holds across reloads and tabs; and every screen, in both
 * themes, passes axe-core's WCAG AA colour-contrast rule with its states on show (a kill, a running
 * rollout, a pending change request, a trigger, a template).
 */
describe('admin UI: dark theme', () => {
  const suite = browserSuite();
  const LIGHT = 'rgb(245, 246, 248)';
  const DARK = 'rgb(11, 17, 32)';

  it('follows the system until a theme is chosen, and keeps the choice across reloads and tabs', async () => {
    const errors: string[] = [];
    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-theme-choice');
    });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(suite.stack.api.url);
    const choice = page.getByLabel('Theme');
    expect(await choice.inputValue()).toBe('system');
    expect(await pageBackground(page)).toBe(DARK);
    // The system switching back to light is followed at once, without a reload.
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await pageBackground(page)).toBe(LIGHT);

    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    const other = await context.newPage();
    await other.goto(suite.stack.api.url);
    expect(await pageBackground(other)).toBe(LIGHT);
    await page.getByTestId('who').getByLabel('Theme').selectOption('dark');
    expect(await pageBackground(page)).toBe(DARK);
    // Another open tab follows the choice; a reload keeps it; the system's light preference no longer decides.
    await expect.poll(() => pageBackground(other)).toBe(DARK);
    await page.reload();
    await page.getByTestId('role').waitFor();
    expect(await pageBackground(page)).toBe(DARK);
    expect(await page.getByTestId('who').getByLabel('Theme').inputValue()).toBe('dark');
    // Light chosen under a dark system stays light.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByTestId('who').getByLabel('Theme').selectOption('light');
    expect(await pageBackground(page)).toBe(LIGHT);
    // Back to the system's choice.
    await page.getByTestId('who').getByLabel('Theme').selectOption('system');
    expect(await pageBackground(page)).toBe(DARK);
    expect(await page.evaluate<string | null>("localStorage.getItem('ripcord.theme')")).toBeNull();
    await context.close();
    expect(unexpected(errors)).toEqual([]);
  });

  it('every screen passes WCAG AA colour contrast in both themes, and fits a phone in the dark', async () => {
    const errors: string[] = [];
    const api: typeof suite.stack.request = (...args) => suite.stack.request(...args);
    // States worth seeing: a killed flag, a running rollout, a pending change request, a trigger, a template.
    const key = uniqueKey('e2e-dark');
    expect((await api('POST', '/api/v1/flags', { body: { key, name: 'Dark flag', type: 'boolean', tags: ['e2e'] } })).status).toBe(201);
    expect((await api('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'contrast check' } })).status).toBeLessThan(300);
    expect((await api('POST', `/api/v1/flags/${key}/environments/production/triggers`, { body: { name: 'Error rate', source: 'alertmanager' } })).status).toBe(201);
    const rollouts = `/api/v1/flags/${key}/environments/staging/rollouts`;
    expect((await api('POST', rollouts, { body: { plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] } } })).status).toBe(201);
    await eventually(async () => (await api('GET', rollouts)).body.current?.history?.length === 1, 'the rollout’s first step', 20_000);
    expect((await api('PUT', '/api/v1/environments/development/change-policy', { body: { required_approvals: 1 } })).status).toBe(200);
    const author = await createUser(suite.stack, 'editor');
    const request = await api('PUT', `/api/v1/flags/${key}/environments/development`, { token: author.token, body: { enabled: true, value: true, off_value: false } });
    expect(request.status, JSON.stringify(request.body)).toBe(202);
    const changeRequest = request.body.change_request.id as string;
    const template = uniqueKey('dark').toLowerCase();
    expect((await api('POST', '/api/v1/release-templates', { body: { name: template, phases: [{ environment: 'staging', approval: { role: 'editor' }, plan: { strategy: 'immediate', percentage: 100 } }] } })).status).toBe(201);
    expect((await api('POST', '/api/v1/segments', { body: { key: uniqueKey('beta'), kind: 'list', members: ['ada'] } })).status).toBe(201);
    expect((await api('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/dark', events: ['flag.killed'] } })).status).toBe(201);

    const flag = `/flags/${key}`;
    const screens = [
      '/', '/change-requests', `/change-requests/${changeRequest}`, '/release-templates', `/release-templates/${template}`, '/release-templates/new',
      '/ready-to-remove', '/audit', '/segments', '/tokens', '/users', '/webhooks', '/instances',
      `${flag}/production`, `${flag}/production?tab=targeting`, `${flag}/staging?tab=rollouts`, `${flag}/production?tab=insights`,
      `${flag}/production?tab=history`, `${flag}/production?tab=settings`, `${flag}/development`,
    ];
    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-dark-theme');
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    // The check can fail: grey on grey is caught (set through the CSSOM, which the CSP allows).
    await page.evaluate("const p = document.createElement('p'); p.textContent = 'hard to read'; p.id = 'grey'; p.style.color = '#777'; p.style.background = '#888'; document.querySelector('#main').append(p)");
    expect((await contrastViolations(page)).some((v) => v.startsWith('#grey:'))).toBe(true);
    // One visit per screen: the theme follows the emulated preference at once (no reload), so both are checked there.
    for (const screen of screens) {
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.goto(`${suite.stack.api.url}${screen}`);
      await settled(page);
      for (const scheme of ['dark', 'light'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        expect(await pageBackground(page)).toBe(scheme === 'dark' ? DARK : LIGHT);
        expect(await contrastViolations(page), `${screen} in the ${scheme} theme`).toEqual([]);
      }
    }
    // The kill switch's confirmation dialog, over the dark page.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${suite.stack.api.url}${flag}/production`);
    await settled(page);
    await page.getByRole('button', { name: /^Restore/ }).first().click();
    await page.locator('dialog[open]').waitFor();
    expect(await contrastViolations(page), 'the restore dialog in the dark theme').toEqual([]);
    await shot(page, '90-dark-restore-dialog');

    // At phone width, dark: the top bar's theme choice fits; nothing scrolls sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const screen of ['/', `${flag}/production`, `${flag}/staging?tab=rollouts`]) {
      await page.goto(`${suite.stack.api.url}${screen}`);
      await settled(page);
      expect(await sidewaysOverflow(page), `${screen} at 390 px`).toBeLessThanOrEqual(0);
    }
    await page.getByRole('button', { name: 'Menu' }).click();
    await shot(page, '91-dark-rollouts-phone');
    expect(await contrastViolations(page), 'the open menu at 390 px, dark').toEqual([]);
    await context.close();
    expect(unexpected(errors)).toEqual([]);
  }, 180_000);
});

/** Waits until a screen has its heading and no loading placeholder or "Loading…" status. */
async function settled(page: Page) {
  await page.locator('#main h1').first().waitFor();
  await expect.poll(async () => await page.locator('.skeleton').count() + await page.getByRole('status').filter({ hasText: 'Loading' }).count()).toBe(0);
}
