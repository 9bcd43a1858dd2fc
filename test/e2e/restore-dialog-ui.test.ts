import { describe, expect, it, onTestFailed } from 'vitest';
import { ADMIN_TOKEN, uniqueKey } from '../integration/harness.js';
import { openPage, shot, sidewaysOverflow, signIn, unexpected } from './browser.js';
import { browserSuite } from './browser-suite.js';

/**
 * Restoring a killed flag says what will be served, in headless Chromium: beside the Restore button in
 * every environment, and in production's confirmation dialog before anyone confirms — the environment's
 * configured answer (a 10 % rollout, a split, off), not a generic "its configured value".
 */
describe('admin UI: what a restore serves', () => {
  const suite = browserSuite();

  it('names each environment’s configured answer before the restore, and the dialog in production before confirming', async () => {
    const errors: string[] = [];
    const key = uniqueKey('e2e-restore');
    const env = (e: string) => `/api/v1/flags/${key}/environments/${e}`;
    expect((await suite.stack.request('POST', '/api/v1/flags', { body: { key, name: 'Restore', type: 'boolean' } })).status).toBe(201);
    // production: on for 10 %, with a rule; staging: a 50/50 split of two named variants; development: off.
    const production = await suite.stack.request('PUT', env('production'), {
      body: {
        enabled: true, value: true, off_value: false, rollout: { percentage: 10, strategy: 'gradual' },
        rules: [{ id: 'staff', type: 'user_attribute', priority: 1, conditions: [{ field: 'email', operator: 'ends_with', value: '@example.com' }], action: 'enable' }],
      },
    });
    expect(production.status, JSON.stringify(production.body)).toBe(200);
    const staging = await suite.stack.request('PUT', env('staging'), {
      body: {
        enabled: true, variants: [{ name: 'control', value: false }, { name: 'treatment', value: true }], on_variant: 'treatment', off_variant: 'control',
        split: [{ variant: 'control', weight: 50 }, { variant: 'treatment', weight: 50 }],
      },
    });
    expect(staging.status, JSON.stringify(staging.body)).toBe(200);
    for (const e of ['production', 'staging', 'development']) {
      expect((await suite.stack.request('POST', `${env(e)}/kill-switch`, { body: { reason: '5xx spike' } })).status).toBeLessThan(300);
    }

    const { context, page } = await openPage(suite.browser, errors);
    onTestFailed(async () => {
      await shot(page, 'failure-restore-dialog');
    });
    await signIn(page, suite.stack.api.url, ADMIN_TOKEN);
    const preview = page.getByTestId('restore-preview');
    for (const [e, serves] of [
      ['staging', 'Restoring serves staging its configured answer — On: 50 % control, 50 % treatment.'],
      ['development', 'Restoring serves development its configured answer — Off: everyone gets off (false).'],
      ['production', 'Restoring serves production its configured answer — On for 10 %: they get on (true), the rest off (false). 1 rule is matched first again.'],
    ] as const) {
      await page.goto(`${suite.stack.api.url}/flags/${key}/${e}`);
      await page.getByTestId('killed-banner').waitFor();
      expect((await preview.textContent())?.trim()).toBe(serves);
    }

    // Production asks first, naming what will be served; Cancel changes nothing.
    const restore = page.getByRole('button', { name: `Restore ${key} in production` });
    await restore.click();
    const dialog = page.getByRole('dialog', { name: `Restore ${key} in production?` });
    await dialog.waitFor();
    expect((await dialog.getByTestId('restore-serves').textContent())?.trim()).toBe('After the restore: On for 10 %: they get on (true), the rest off (false). 1 rule is matched first again.');
    expect(await dialog.textContent()).toContain('It was killed because “5xx spike”.');
    await shot(page, '92-restore-dialog-names-answer');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await suite.stack.request('GET', env('production'))).body.kill_switch.enabled).toBe(true);

    // At phone width the dialog fits; confirming restores, and the flag serves what the dialog said.
    await page.setViewportSize({ width: 390, height: 844 });
    await restore.click();
    await dialog.waitFor();
    expect(await sidewaysOverflow(page)).toBeLessThanOrEqual(0);
    await shot(page, '93-restore-dialog-phone');
    await dialog.getByRole('button', { name: `Restore ${key} in production` }).click();
    await page.getByRole('button', { name: 'Pull kill switch in production' }).waitFor();
    const config = (await suite.stack.request('GET', env('production'))).body;
    expect(config.kill_switch.enabled).toBe(false);
    expect(config.rollout.percentage).toBe(10);
    expect(await page.getByTestId('served-summary').textContent()).toBe('On for 10 %: they get on (true), the rest off (false).');
    await context.close();
    expect(unexpected(errors)).toEqual([]);
  });
});
